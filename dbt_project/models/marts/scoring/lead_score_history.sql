{#- The score ledger: one row per CRM record and run (scored_at = the run's as_of) in which
    its composite score or tier changed against its latest earlier row; a record's first
    score counts as a change. "When did this lead become Hot, and why" is a query on it.

    Incremental and idempotent: a re-run of the same as_of replaces that run's rows (see
    macros/score_ledger.sql), and full refreshes are refused (full_refresh = false) so the
    ledger is never rebuilt from one run. A backdated run (as_of earlier than the latest
    recorded run) adds and changes nothing: the ledger records runs in time order, and rows of
    later runs stay exactly as they were written. -#}
{{ config(
    materialized='incremental',
    incremental_strategy=lead_scoring.ledger_incremental_strategy(),
    unique_key=['crm_id', 'scored_at'],
    partition_by=lead_scoring.ledger_partition_by('scored_at'),
    pre_hook="{{ lead_scoring.ledger_delete_rerun('scored_at') }}",
    full_refresh=false,
) }}

with

lead_scores as (

    select * from {{ ref('lead_scores') }}

),

{% if is_incremental() %}

history as (

    select * from {{ this }}

),

latest_run as (

    select max(scored_at) as latest_scored_at
    from history

),

earlier_rows as (

    select
        crm_id,
        composite_score,
        tier,
        row_number() over (partition by crm_id order by scored_at desc) as row_rank
    from history
    where scored_at < {{ lead_scoring.as_of() }}

),

previous_rows as (

    select
        crm_id,
        composite_score as previous_composite_score,
        tier as previous_tier
    from earlier_rows
    where row_rank = 1

),

runnable as (

    select lead_scores.*
    from lead_scores
    cross join latest_run
    where latest_run.latest_scored_at is null
        or {{ lead_scoring.as_of() }} >= latest_run.latest_scored_at

),

{% else %}

previous_rows as (

    select
        crm_id,
        cast(null as {{ dbt.type_float() }}) as previous_composite_score,
        cast(null as {{ dbt.type_int() }}) as previous_tier
    from lead_scores
    where 1 = 0

),

runnable as (

    select * from lead_scores

),

{% endif %}

changed as (

    select
        runnable.*,
        previous_rows.previous_composite_score,
        previous_rows.previous_tier
    from runnable
    left join previous_rows
        on runnable.crm_id = previous_rows.crm_id
    where previous_rows.crm_id is null
        or runnable.composite_score <> previous_rows.previous_composite_score
        or runnable.tier <> previous_rows.previous_tier

),

final as (

    select
        -- ids
        crm_id,
        crm_object,
        account_id,

        -- strings
        grade,
        tier_label,
        score_reasons,
        scoring_model_version,

        -- numerics
        fit_score,
        intent_score,
        negative_score,
        composite_score,
        tier,
        previous_composite_score,
        previous_tier,

        -- booleans
        is_mql,
        is_sql,
        is_disqualified,

        -- timestamps
        scored_at

    from changed

)

select * from final
