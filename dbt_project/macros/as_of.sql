{#- The scoring instant as a timestamp literal. Models never call now(): a re-run of 10:00
    gives 10:00's scores and a backtest can score any past instant.
    From var('as_of') when given (`dbt build --vars '{as_of: "2026-11-01T10:00:00"}'`, a unit
    test's overrides), else from the LEADSCORE_AS_OF environment variable, which is how the
    pipeline passes it (plugins/lead_scoring/dbt_runner.py): a --vars value that changes every
    hour makes dbt re-parse the whole project (about 4 s) on every invocation, an environment
    variable read only when executing (never while parsing) does not. -#}
{% macro as_of() -%}
    {%- set value = var('as_of', '') -%}
    {%- if execute and (value is none or value | string | trim == '') -%}
        {%- set value = env_var('LEADSCORE_AS_OF', '') -%}
    {%- endif -%}
    {%- if execute and (value is none or value | string | trim == '') -%}
        {{ exceptions.raise_compiler_error("the scoring instant is not set: run dbt with --vars '{as_of: \"2026-11-01T10:00:00\"}' or LEADSCORE_AS_OF=2026-11-01T10:00:00 (the pipeline sets it to the run's data_interval_end)") }}
    {%- endif -%}
    cast('{{ value | string | replace("T", " ") | replace("Z", "") | replace("+00:00", "") }}' as {{ dbt.type_timestamp() }})
{%- endmacro %}
