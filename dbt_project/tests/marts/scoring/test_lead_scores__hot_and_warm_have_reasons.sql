{#- Every Tier 1-2 person is routed to a rep, who must see why: no reasons fails. -#}
with

lead_scores as (

    select * from {{ ref('lead_scores') }}

),

final as (

    select
        crm_id,
        tier,
        composite_score
    from lead_scores
    where tier <= 2
        and coalesce(score_reasons, '') = ''

)

select * from final
