{#- Calibration: people split into ten equal groups by the composite score they were first
    assigned (decile 1 = highest scores), with the conversion rate each group should have if
    conversion were proportional to the score (base rate x decile mean score / overall mean
    score) beside the observed rate, the lift over the base rate and the cumulative share
    of all conversions captured from the top down (gain). -#}
with

people_outcomes as (

    select * from {{ ref('int_people_outcomes_joined') }}

),

ranked as (

    select
        crm_id,
        assigned_composite_score,
        has_opportunity,
        has_won_opportunity,
        ntile(10) over (
            order by assigned_composite_score desc, {{ lead_scoring.binary_sort_key('crm_id') }} asc
        ) as score_decile
    from people_outcomes

),

overall as (

    select
        count(*) as total_people,
        sum(case when has_opportunity then 1 else 0 end) as total_conversions,
        avg(cast(assigned_composite_score as {{ dbt.type_float() }})) as mean_score
    from ranked

),

per_decile as (

    select
        score_decile,
        count(*) as people,
        sum(case when has_opportunity then 1 else 0 end) as conversions,
        sum(case when has_won_opportunity then 1 else 0 end) as won,
        min(assigned_composite_score) as min_score,
        max(assigned_composite_score) as max_score,
        avg(cast(assigned_composite_score as {{ dbt.type_float() }})) as mean_score
    from ranked
    group by score_decile

),

cumulated as (

    select
        per_decile.*,
        sum(per_decile.conversions) over (
            order by per_decile.score_decile rows between unbounded preceding and current row
        ) as cumulative_conversions
    from per_decile

),

final as (

    select
        cumulated.score_decile,
        cumulated.people,
        cumulated.conversions,
        cumulated.won,
        cumulated.min_score,
        cumulated.max_score,
        cumulated.mean_score,
        cast(overall.total_conversions as {{ dbt.type_float() }}) / overall.total_people as base_rate,
        cast(overall.total_conversions as {{ dbt.type_float() }}) / overall.total_people
        * cumulated.mean_score / nullif(overall.mean_score, 0) as predicted_conversion_rate,
        cast(cumulated.conversions as {{ dbt.type_float() }}) / cumulated.people as observed_conversion_rate,
        (cast(cumulated.conversions as {{ dbt.type_float() }}) / cumulated.people)
        / nullif(cast(overall.total_conversions as {{ dbt.type_float() }}) / overall.total_people, 0) as lift,
        cast(cumulated.cumulative_conversions as {{ dbt.type_float() }})
        / nullif(overall.total_conversions, 0) as cumulative_share_of_conversions
    from cumulated
    cross join overall

)

select * from final
