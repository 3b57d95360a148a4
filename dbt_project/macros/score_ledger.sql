{#- The score ledger (marts.lead_score_history) is an incremental table that must give the
    same rows whatever the engine and however often a run is repeated:
    - DuckDB, Postgres (default): `delete+insert` on (crm_id, scored_at), after a pre-hook
      that deletes the run's own rows, so a re-run replaces them even when it finds none.
    - Spark/Databricks without Delta/Iceberg: `insert_overwrite` of the run's scored_at
      partition (dynamic partition overwrite); `merge` and `delete` need a table format. -#}

{% macro ledger_incremental_strategy() -%}
    {{ return(adapter.dispatch('ledger_incremental_strategy', 'lead_scoring')()) }}
{%- endmacro %}

{% macro default__ledger_incremental_strategy() -%}
    {{ return('delete+insert') }}
{%- endmacro %}

{% macro spark__ledger_incremental_strategy() -%}
    {{ return('insert_overwrite') }}
{%- endmacro %}

{% macro databricks__ledger_incremental_strategy() -%}
    {{ return('insert_overwrite') }}
{%- endmacro %}

{#- Partition columns of the ledger: none by default, the run column on Spark (what
    insert_overwrite replaces). -#}
{% macro ledger_partition_by(column) -%}
    {{ return(adapter.dispatch('ledger_partition_by', 'lead_scoring')(column)) }}
{%- endmacro %}

{% macro default__ledger_partition_by(column) -%}
    {{ return(none) }}
{%- endmacro %}

{% macro spark__ledger_partition_by(column) -%}
    {{ return([column]) }}
{%- endmacro %}

{% macro databricks__ledger_partition_by(column) -%}
    {{ return([column]) }}
{%- endmacro %}

{#- Pre-hook: on an incremental run, delete the rows of this run's as_of, unless a later run
    is already recorded (a backdated run leaves the ledger as it is, see lead_score_history).
    Nothing on Spark: insert_overwrite replaces the partition. -#}
{% macro ledger_delete_rerun(column) -%}
    {%- if is_incremental() -%}
    {{ return(adapter.dispatch('ledger_delete_rerun', 'lead_scoring')(column)) }}
    {%- endif -%}
{%- endmacro %}

{% macro default__ledger_delete_rerun(column) -%}
    delete from {{ this }}
    where {{ column }} = {{ lead_scoring.as_of() }}
        and {{ lead_scoring.as_of() }} >= (select max({{ column }}) from {{ this }})
{%- endmacro %}

{% macro spark__ledger_delete_rerun(column) -%}
{%- endmacro %}

{% macro databricks__ledger_delete_rerun(column) -%}
{%- endmacro %}
