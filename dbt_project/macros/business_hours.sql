{#- Business-hours calendar arithmetic on local epoch seconds (UTC epoch seconds + the
    calendar's fixed utc_offset_minutes * 60), shared by the SLA clocks
    (int_sla_clocks_due_computed) and the owner alerts' quiet hours (owner_alerts_due).
    day_number 1 is the local day holding local_seconds, 2 the next, ... -#}

{#- Local epoch seconds of hour_of_day on day day_number. -#}
{% macro local_day_seconds(local_seconds, day_number, hour_of_day) -%}
    (floor({{ local_seconds }} / 86400) + {{ day_number }} - 1) * 86400 + {{ hour_of_day }} * 3600
{%- endmacro %}

{#- ISO weekday (1 Monday .. 7 Sunday) of day day_number (1970-01-01 was a Thursday). -#}
{% macro local_iso_weekday(local_seconds, day_number) -%}
    mod(cast(floor({{ local_seconds }} / 86400) + {{ day_number }} - 1 + 3 as {{ dbt.type_bigint() }}), 7) + 1
{%- endmacro %}
