{#- PLACEHOLDER so the reports branch builds: the scoring branch replaces this with the
    incremental score ledger (one row per record per run in which its score or tier changed).
    Same columns; here one row per record for the current run only. -#}
with

lead_scores as (

    select * from {{ ref('lead_scores') }}

),

final as (

    select
        crm_id,
        crm_object,
        account_id,
        grade,
        tier_label,
        score_reasons,
        scoring_model_version,
        fit_score,
        intent_score,
        negative_score,
        composite_score,
        tier,
        cast(null as {{ dbt.type_float() }}) as previous_composite_score,
        cast(null as {{ dbt.type_int() }}) as previous_tier,
        is_mql,
        is_sql,
        is_disqualified,
        scored_at
    from lead_scores

)

select * from final
