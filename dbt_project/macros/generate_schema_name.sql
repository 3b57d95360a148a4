{#- Custom schema names are used verbatim (staging, intermediate, marts, reporting, seeds),
    as the design's public interface names them, not prefixed with the target schema. The var
    schema_prefix (default none) prefixes them all: the shadow build of a challenger's seeds
    (plugins/lead_scoring/versions/shadow.py) builds into shadow_seeds, shadow_staging, ... beside the
    champion's tables, reading the same raw sources. In the fast lane's narrow build
    (var fast_lane, macros/fast_lane.sql) the models tagged fast_lane go to fast_intermediate
    and fast_marts; the others keep their schemas, so those models read the hourly tables. -#}
{% macro generate_schema_name(custom_schema_name, node) -%}
    {%- set prefix = var('schema_prefix', '') -%}
    {%- if lead_scoring.fast_lane_narrow() and 'fast_lane' in node.tags -%}
        {%- set prefix = 'fast_' ~ prefix -%}
    {%- endif -%}
    {%- if custom_schema_name is none -%}{{ target.schema }}{%- else -%}{{ prefix ~ custom_schema_name | trim }}{%- endif -%}
{%- endmacro %}
