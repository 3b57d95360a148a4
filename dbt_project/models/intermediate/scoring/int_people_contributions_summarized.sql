{#- One row per merged person (person_key) with score contributions: the points per
    component (fit, intent, negative; not yet clamped) and whether a disqualifying rule
    matched. lead_scores clamps, weighs and tiers them; the reasons come from
    int_score_reasons_ranked. A view: lead_scores reads it once, and DuckDB plans it inside
    that query. -#}
with

contributions as (

    select * from {{ ref('int_score_contributions_merged') }}

),

final as (

    select
        -- ids
        person_key,

        -- numerics
        sum(case when component = 'fit' then points else 0 end) as fit_points,
        sum(case when component = 'intent' then points else 0 end) as intent_points,
        sum(case when component = 'negative' then points else 0 end) as negative_points,

        -- booleans
        {{ dbt.bool_or('is_disqualifier') }} as has_disqualifier

    from contributions
    group by person_key

)

select * from final
