{#- Engine differences live here, behind adapter.dispatch, never in model files. -#}

{#- Seconds since the Unix epoch of a timestamp (exact, unlike datediff in minutes). -#}
{% macro epoch_seconds(timestamp_expression) -%}
    {{ return(adapter.dispatch('epoch_seconds', 'lead_scoring')(timestamp_expression)) }}
{%- endmacro %}

{% macro default__epoch_seconds(timestamp_expression) -%}
    cast(extract(epoch from {{ timestamp_expression }}) as {{ dbt.type_float() }})
{%- endmacro %}

{% macro duckdb__epoch_seconds(timestamp_expression) -%}
    cast(epoch({{ timestamp_expression }}) as {{ dbt.type_float() }})
{%- endmacro %}

{% macro spark__epoch_seconds(timestamp_expression) -%}
    cast(unix_timestamp({{ timestamp_expression }}) as {{ dbt.type_float() }})
{%- endmacro %}

{#- Age in fractional days between two timestamps. -#}
{% macro age_in_days(earlier, later) -%}
    (({{ lead_scoring.epoch_seconds(later) }} - {{ lead_scoring.epoch_seconds(earlier) }}) / 86400.0)
{%- endmacro %}

{#- String aggregation with a guaranteed order (dbt.listagg ignores order on Spark). -#}
{% macro ordered_listagg(measure, delimiter, order_by) -%}
    {{ return(adapter.dispatch('ordered_listagg', 'lead_scoring')(measure, delimiter, order_by)) }}
{%- endmacro %}

{% macro default__ordered_listagg(measure, delimiter, order_by) -%}
    string_agg({{ measure }}, '{{ delimiter }}' order by {{ order_by }})
{%- endmacro %}

{#- Casts that yield NULL on bad input on every engine. -#}
{% macro duckdb__safe_cast(field, type) -%}
    try_cast({{ field }} as {{ type }})
{%- endmacro %}

{#- Round to n decimals and keep a float type (Postgres has no round(double, n)). -#}
{% macro round_to(expression, digits) -%}
    cast(round(cast({{ expression }} as {{ dbt.type_numeric() }}), {{ digits }}) as {{ dbt.type_float() }})
{%- endmacro %}

{#- Clamp an expression into [low, high]. -#}
{% macro clamp(expression, low, high) -%}
    least(greatest({{ expression }}, {{ low }}), {{ high }})
{%- endmacro %}

{#- Lower-cased, trimmed e-mail, NULL when empty. -#}
{% macro normalize_email(column) -%}
    nullif(lower(trim({{ column }})), '')
{%- endmacro %}
