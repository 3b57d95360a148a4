{#- The scoring instant, from var('as_of'), as a timestamp literal. Models never call now():
    a re-run of 10:00 gives 10:00's scores and a backtest can score any past instant. -#}
{% macro as_of() -%}
    {%- set value = var('as_of') -%}
    {%- if execute and (value is none or value | string | trim == '') -%}
        {{ exceptions.raise_compiler_error("var('as_of') is not set: run dbt with --vars '{as_of: \"2026-11-01T10:00:00\"}' (the pipeline sets it to the run's data_interval_end)") }}
    {%- endif -%}
    cast('{{ value | string | replace("T", " ") | replace("Z", "") | replace("+00:00", "") }}' as {{ dbt.type_timestamp() }})
{%- endmacro %}
