{#- SLA compliance by week of assignment, owner (rep or queue) and tier, as of var('as_of'),
    from each Lead's current SLA clock (marts.lead_sla): met, breached, still open, the
    compliance rate met / (met + breached) and the escalations. -#}
with

lead_sla as (

    select * from {{ ref('lead_sla') }}

),

reps as (

    select * from {{ ref('int_reps_availability_evaluated') }}

),

queues as (

    select * from {{ ref('routing_queues') }}

),

weekly as (

    select
        cast({{ dbt.date_trunc('week', 'sla_started_at') }} as date) as week_start_date,
        owner_id,
        owner_type,
        tier,
        count(*) as leads,
        sum(case when sla_status = 'met' then 1 else 0 end) as met,
        sum(case when sla_status = 'breached' then 1 else 0 end) as breached,
        sum(case when sla_status = 'breached' and first_response_at is null then 1 else 0 end) as breached_unanswered,
        sum(case when sla_status in ('on_track', 'at_risk') then 1 else 0 end) as open_clocks,
        sum(case when sla_status = 'breached' and escalation_target is not null then 1 else 0 end) as escalations,
        avg(minutes_to_first_response) as avg_minutes_to_first_response
    from lead_sla
    group by
        cast({{ dbt.date_trunc('week', 'sla_started_at') }} as date),
        owner_id,
        owner_type,
        tier

),

final as (

    select
        -- ids
        weekly.owner_id,

        -- strings
        weekly.owner_type,
        coalesce(reps.rep_name, queues.queue_name) as owner_name,
        reps.team,

        -- numerics
        weekly.tier,
        weekly.leads,
        weekly.met,
        weekly.breached,
        weekly.breached_unanswered,
        weekly.open_clocks,
        weekly.escalations,
        cast(weekly.met as {{ dbt.type_float() }}) / nullif(weekly.met + weekly.breached, 0) as compliance_rate,
        weekly.avg_minutes_to_first_response,

        -- dates
        weekly.week_start_date,

        -- timestamps
        {{ lead_scoring.as_of() }} as reported_at

    from weekly
    left join reps
        on weekly.owner_id = reps.rep_id
    left join queues
        on weekly.owner_id = queues.queue_id

)

select * from final
