{#- A disqualifier overrides every score: a disqualified person in Tier 1-3, or flagged MQL or
    SQL, fails. -#}
with

lead_scores as (

    select * from {{ ref('lead_scores') }}

),

final as (

    select
        crm_id,
        tier,
        is_mql,
        is_sql
    from lead_scores
    where is_disqualified
        and (tier <> 4 or is_mql or is_sql)

)

select * from final
