{#- Speed to lead as of var('as_of'): per owner and tier, how fast the first response followed
    the start of the SLA clock (marts.lead_sla: the assignment, or the Lead's creation for a
    kept working owner, so minutes are never negative): responded Leads, median and
    90th-percentile minutes (nearest rank, computed with row_number so it is the same on every
    engine), average, the share answered within the SLA, and the Leads still waiting.
    The population is every marts.lead_sla row, the same as rpt_sla_compliance_weekly's:
    responded_leads + waiting_leads there = leads here, per owner and tier. -#}
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

responded as (

    select
        owner_id,
        tier,
        minutes_to_first_response,
        sla_status,
        row_number() over (
            partition by owner_id, tier
            order by minutes_to_first_response, crm_id
        ) as response_rank,
        count(*) over (partition by owner_id, tier) as responded_leads
    from lead_sla
    where first_response_at is not null

),

percentiles as (

    select
        owner_id,
        tier,
        max(responded_leads) as responded_leads,
        avg(minutes_to_first_response) as avg_minutes_to_first_response,
        avg(
            case
                when response_rank in (
                        cast(floor((responded_leads + 1) / 2.0) as {{ dbt.type_int() }}),
                        cast(ceiling((responded_leads + 1) / 2.0) as {{ dbt.type_int() }})
                    ) then minutes_to_first_response
            end
        ) as median_minutes_to_first_response,
        max(
            case
                when response_rank = cast(ceiling(0.9 * responded_leads) as {{ dbt.type_int() }})
                    then minutes_to_first_response
            end
        ) as p90_minutes_to_first_response,
        sum(case when sla_status = 'met' then 1 else 0 end) as responded_within_sla
    from responded
    group by owner_id, tier

),

waiting as (

    select
        owner_id,
        tier,
        count(*) as waiting_leads
    from lead_sla
    where first_response_at is null
    group by owner_id, tier

),

owners as (

    select
        owner_id,
        tier
    from percentiles
    union
    select
        owner_id,
        tier
    from waiting

),

final as (

    select
        -- ids
        owners.owner_id,

        -- strings
        coalesce(reps.rep_name, queues.queue_name) as owner_name,
        reps.team,

        -- numerics
        owners.tier,
        coalesce(percentiles.responded_leads, 0) as responded_leads,
        coalesce(waiting.waiting_leads, 0) as waiting_leads,
        percentiles.median_minutes_to_first_response,
        percentiles.p90_minutes_to_first_response,
        percentiles.avg_minutes_to_first_response,
        cast(percentiles.responded_within_sla as {{ dbt.type_float() }})
        / nullif(percentiles.responded_leads, 0) as share_within_sla,

        -- timestamps
        {{ lead_scoring.as_of() }} as reported_at

    from owners
    left join percentiles
        on owners.owner_id = percentiles.owner_id
        and owners.tier = percentiles.tier
    left join waiting
        on owners.owner_id = waiting.owner_id
        and owners.tier = waiting.tier
    left join reps
        on owners.owner_id = reps.rep_id
    left join queues
        on owners.owner_id = queues.queue_id

)

select * from final
