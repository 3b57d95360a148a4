{#- The headline numbers per week (Monday start), for the report's header and its
    week-over-week trends: people first scored, people who first reached MQL and SQL
    (marts.lead_score_history), opportunities and wins after the person's first score; as in
    rpt_funnel, people whose first opportunity came before their first score are left out of
    all five. Then SLA clocks started with how many were met or
    breached, and the median minutes to a first response. is_complete_week: the week ended
    by var('as_of'); the current week's numbers are still growing. -#}
with

people_outcomes as (

    select * from {{ ref('int_people_outcomes_joined') }}

),

lead_sla as (

    select * from {{ ref('lead_sla') }}

),

events as (

    select
        assigned_at as happened_at,
        'scored' as measure
    from people_outcomes
    where not has_opportunity_before_first_score
    union all
    select
        first_mql_at as happened_at,
        'mql' as measure
    from people_outcomes
    where first_mql_at is not null and not has_opportunity_before_first_score
    union all
    select
        first_sql_at as happened_at,
        'sql' as measure
    from people_outcomes
    where first_sql_at is not null and not has_opportunity_before_first_score
    union all
    select
        first_opportunity_at as happened_at,
        'opportunity' as measure
    from people_outcomes
    where has_opportunity and not has_opportunity_before_first_score
    union all
    select
        cast(first_won_date as {{ dbt.type_timestamp() }}) as happened_at,
        'won' as measure
    from people_outcomes
    where first_won_date is not null and not has_opportunity_before_first_score

),

event_weeks as (

    select
        cast({{ dbt.date_trunc('week', 'happened_at') }} as date) as week_start_date,
        sum(case when measure = 'scored' then 1 else 0 end) as people_first_scored,
        sum(case when measure = 'mql' then 1 else 0 end) as new_mqls,
        sum(case when measure = 'sql' then 1 else 0 end) as new_sqls,
        sum(case when measure = 'opportunity' then 1 else 0 end) as new_opportunities,
        sum(case when measure = 'won' then 1 else 0 end) as new_won
    from events
    group by cast({{ dbt.date_trunc('week', 'happened_at') }} as date)

),

clocks as (

    select
        cast({{ dbt.date_trunc('week', 'sla_started_at') }} as date) as week_start_date,
        sla_status,
        first_response_at,
        minutes_to_first_response
    from lead_sla
    where sla_started_at is not null

),

responses_ranked as (

    select
        week_start_date,
        minutes_to_first_response,
        row_number() over (partition by week_start_date order by minutes_to_first_response) as response_rank,
        count(*) over (partition by week_start_date) as responses
    from clocks
    where first_response_at is not null and minutes_to_first_response is not null

),

medians as (

    select
        week_start_date,
        avg(minutes_to_first_response) as median_minutes_to_first_response
    from responses_ranked
    where response_rank in (
            cast(floor((responses + 1) / 2.0) as {{ dbt.type_int() }}),
            cast(ceiling((responses + 1) / 2.0) as {{ dbt.type_int() }})
        )
    group by week_start_date

),

clock_weeks as (

    select
        week_start_date,
        count(*) as sla_clocks,
        sum(case when sla_status = 'met' then 1 else 0 end) as sla_met,
        sum(case when sla_status = 'breached' then 1 else 0 end) as sla_breached
    from clocks
    group by week_start_date

),

weeks as (

    select week_start_date from event_weeks
    union
    select week_start_date from clock_weeks

),

final as (

    select
        -- numerics
        coalesce(event_weeks.people_first_scored, 0) as people_first_scored,
        coalesce(event_weeks.new_mqls, 0) as new_mqls,
        coalesce(event_weeks.new_sqls, 0) as new_sqls,
        coalesce(event_weeks.new_opportunities, 0) as new_opportunities,
        coalesce(event_weeks.new_won, 0) as new_won,
        coalesce(clock_weeks.sla_clocks, 0) as sla_clocks,
        coalesce(clock_weeks.sla_met, 0) as sla_met,
        coalesce(clock_weeks.sla_breached, 0) as sla_breached,
        cast(clock_weeks.sla_met as {{ dbt.type_float() }})
        / nullif(clock_weeks.sla_met + clock_weeks.sla_breached, 0) as sla_compliance_rate,
        medians.median_minutes_to_first_response,

        -- booleans
        {{ dbt.dateadd('day', 7, 'cast(weeks.week_start_date as ' ~ dbt.type_timestamp() ~ ')') }}
        <= {{ lead_scoring.as_of() }} as is_complete_week,

        -- dates
        weeks.week_start_date

    from weeks
    left join event_weeks
        on weeks.week_start_date = event_weeks.week_start_date
    left join clock_weeks
        on weeks.week_start_date = clock_weeks.week_start_date
    left join medians
        on weeks.week_start_date = medians.week_start_date

)

select * from final
