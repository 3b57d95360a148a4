{#- Conversion by tier by cohort week: people grouped by the week and the tier they were
    first assigned (from marts.lead_score_history, not today's tier), and how many of them
    went on to an opportunity and a won opportunity after that first score. People whose
    first opportunity came before their first score are counted apart
    (people_with_earlier_opportunity) and left out of the rates: no tier predicted them. -#}
with

people_outcomes as (

    select * from {{ ref('int_people_outcomes_joined') }}

),

cohorts as (

    select
        cast({{ dbt.date_trunc('week', 'assigned_at') }} as date) as cohort_week_start_date,
        assigned_tier,
        has_opportunity_before_first_score,
        has_opportunity and not has_opportunity_before_first_score as has_later_opportunity,
        has_won_opportunity and not has_opportunity_before_first_score as has_later_won_opportunity
    from people_outcomes

),

aggregated as (

    select
        cohort_week_start_date,
        assigned_tier,
        sum(case when has_opportunity_before_first_score then 0 else 1 end) as people,
        sum(case when has_opportunity_before_first_score then 1 else 0 end) as people_with_earlier_opportunity,
        sum(case when has_later_opportunity then 1 else 0 end) as opportunities,
        sum(case when has_later_won_opportunity then 1 else 0 end) as won
    from cohorts
    group by cohort_week_start_date, assigned_tier

),

final as (

    select
        -- strings
        case assigned_tier
            when 1 then 'Hot'
            when 2 then 'Warm'
            when 3 then 'Nurture'
            else 'Disqualified'
        end as tier_label,

        -- numerics
        assigned_tier as tier,
        people,
        people_with_earlier_opportunity,
        opportunities,
        won,
        cast(opportunities as {{ dbt.type_float() }}) / nullif(people, 0) as opportunity_rate,
        cast(won as {{ dbt.type_float() }}) / nullif(opportunities, 0) as win_rate,
        cast(won as {{ dbt.type_float() }}) / nullif(people, 0) as won_rate,

        -- dates
        cohort_week_start_date

    from aggregated

)

select * from final
