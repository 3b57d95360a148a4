{#- Custom schema names are used verbatim (staging, intermediate, marts, reporting, seeds),
    as the design's public interface names them, not prefixed with the target schema. The var
    schema_prefix (default none) prefixes them all: the shadow build of a challenger's seeds
    (plugins/lead_scoring/versions/shadow.py) builds into shadow_seeds, shadow_staging, ... beside the
    champion's tables, reading the same raw sources. -#}
{% macro generate_schema_name(custom_schema_name, node) -%}
    {%- if custom_schema_name is none -%}{{ target.schema }}{%- else -%}{{ var('schema_prefix', '') ~ custom_schema_name | trim }}{%- endif -%}
{%- endmacro %}
