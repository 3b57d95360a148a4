{#- Score and tier distribution over time: at the end of every week in the score history,
    each person's latest score (carried forward: the history only records changes), counted
    per tier and per 10-point composite band. -#}
with

lead_score_history as (

    select * from {{ ref('lead_score_history') }}

),

weeks as (

    select distinct
        cast({{ dbt.date_trunc('week', 'scored_at') }} as date) as week_start_date,
        {{ dbt.dateadd('day', 7, dbt.date_trunc('week', 'scored_at')) }} as week_end_at
    from lead_score_history

),

latest_per_week as (

    select
        weeks.week_start_date,
        lead_score_history.crm_id,
        lead_score_history.tier,
        lead_score_history.composite_score,
        row_number() over (
            partition by weeks.week_start_date, lead_score_history.crm_id
            order by lead_score_history.scored_at desc
        ) as recency_rank
    from weeks
    inner join lead_score_history
        on weeks.week_end_at > lead_score_history.scored_at

),

banded as (

    select
        week_start_date,
        tier,
        cast(least(floor(composite_score / 10), 9) * 10 as {{ dbt.type_int() }}) as score_band_start
    from latest_per_week
    where recency_rank = 1

),

counted as (

    select
        week_start_date,
        tier,
        score_band_start,
        count(*) as people
    from banded
    group by week_start_date, tier, score_band_start

),

week_totals as (

    select
        week_start_date,
        sum(people) as week_people
    from counted
    group by week_start_date

),

final as (

    select
        -- strings
        case counted.tier
            when 1 then 'Hot'
            when 2 then 'Warm'
            when 3 then 'Nurture'
            else 'Disqualified'
        end as tier_label,

        -- numerics
        counted.tier,
        counted.score_band_start,
        counted.people,
        cast(counted.people as {{ dbt.type_float() }}) / week_totals.week_people as share_of_week,

        -- dates
        counted.week_start_date

    from counted
    inner join week_totals
        on counted.week_start_date = week_totals.week_start_date

)

select * from final
