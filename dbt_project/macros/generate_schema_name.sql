{#- Custom schema names are used verbatim (staging, intermediate, marts, reporting, seeds),
    as the design's public interface names them, not prefixed with the target schema. -#}
{% macro generate_schema_name(custom_schema_name, node) -%}
    {%- if custom_schema_name is none -%}{{ target.schema }}{%- else -%}{{ custom_schema_name | trim }}{%- endif -%}
{%- endmacro %}
