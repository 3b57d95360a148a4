{#- The fast lane's narrow build (docs/fast-lane.md#the-narrow-build). With var('fast_lane')
    set, the models tagged fast_lane are built into fast_-prefixed schemas (see
    generate_schema_name) over the people the minute touched and the people their scores
    read (int_fast_lane_scope); the fast lane then copies the touched people's rows into
    the hourly tables (plugins/lead_scoring/fast_lane.py). Without the var this renders
    nothing: the hourly build reads everyone. -#}

{#- True while parsing and building the fast lane's narrow graph. -#}
{% macro fast_lane_narrow() -%}
    {{ return(var('fast_lane', false) in [true, 'true', 'True', '1', 1]) }}
{%- endmacro %}

{#- A where clause keeping the rows whose `column` is one of the fast lane's ids of `scope`:
    'context' (every CRM record a touched person's score reads: their e-mail groups and
    their Accounts' people), 'scored' (the touched people's records, with their e-mail
    groups) or 'account' (their Accounts). Nothing in the hourly build. -#}
{% macro fast_lane_scope(column, scope='context') -%}
    {%- if lead_scoring.fast_lane_narrow() -%}
        where {{ column }} in (
            select crm_id from {{ ref('int_fast_lane_scope') }} where scope = '{{ scope }}'
        )
    {%- endif -%}
{%- endmacro %}
