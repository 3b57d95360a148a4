{#- Records merged into one person (same person_key) carry one score: any group with more than
    one composite score, tier, grade or reason text fails. -#}
with

lead_scores as (

    select * from {{ ref('lead_scores') }}

),

groups as (

    select
        person_key,
        count(distinct composite_score) as composite_scores,
        count(distinct tier) as tiers,
        count(distinct grade) as grades,
        count(distinct score_reasons) as reason_texts
    from lead_scores
    group by person_key

),

final as (

    select * from groups
    where composite_scores > 1
        or tiers > 1
        or grades > 1
        or reason_texts > 1

)

select * from final
