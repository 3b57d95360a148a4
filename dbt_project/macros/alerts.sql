{#- Timestamps as text in owner alerts (the same on DuckDB, Postgres and Spark, which all cast
    a timestamp to 'YYYY-MM-DD HH:MM:SS[.fff]'). -#}

{#- 'YYYY-MM-DD HH:MM', for messages. -#}
{% macro minute_text(expression) -%}
    substring(cast({{ expression }} as {{ dbt.type_string() }}), 1, 16)
{%- endmacro %}

{#- 'YYYY-MM-DDTHH:MM:SS', for alert ids (the form the SLA breach ids have). -#}
{% macro second_key_text(expression) -%}
    replace(substring(cast({{ expression }} as {{ dbt.type_string() }}), 1, 19), ' ', 'T')
{%- endmacro %}

{#- Start of the fixed window of window_hours (counted from 1970-01-01 UTC) holding a timestamp. -#}
{% macro fixed_window_start(timestamp_expression, hours_expression) -%}
    {{ dbt.dateadd(
        'second',
        'cast(floor(' ~ lead_scoring.epoch_seconds(timestamp_expression) ~ ' / (' ~ hours_expression
            ~ ' * 3600)) * ' ~ hours_expression ~ ' * 3600 as ' ~ dbt.type_bigint() ~ ')',
        "cast('1970-01-01 00:00:00' as " ~ dbt.type_timestamp() ~ ")",
    ) }}
{%- endmacro %}
