{#- Rep load against capacity as of var('as_of'): per rep of seeds/routing_reps.csv, the open
    Tier 1-2 Leads they own after routing, their capacity, availability, and the SLA state of
    their Leads. -#}
with

reps as (

    select * from {{ ref('int_reps_availability_evaluated') }}

),

lead_routing as (

    select * from {{ ref('lead_routing') }}

),

lead_sla as (

    select * from {{ ref('lead_sla') }}

),

owned as (

    select
        owner_id as rep_id,
        count(*) as open_leads,
        sum(case when tier = 1 then 1 else 0 end) as open_tier_1_leads,
        sum(case when tier = 2 then 1 else 0 end) as open_tier_2_leads,
        sum(case when assigned_at = routed_at then 1 else 0 end) as assigned_this_run
    from lead_routing
    where owner_type = 'rep'
        and tier in (1, 2)
    group by owner_id

),

sla as (

    select
        owner_id as rep_id,
        sum(case when sla_status = 'breached' and first_response_at is null then 1 else 0 end) as breached_unanswered,
        sum(case when sla_status = 'at_risk' then 1 else 0 end) as at_risk
    from lead_sla
    group by owner_id

),

final as (

    select
        -- ids
        reps.rep_id,
        reps.manager_id,

        -- strings
        reps.rep_name,
        reps.team,
        reps.territories,
        reps.segments,
        reps.out_of_office_reason,

        -- numerics
        reps.capacity_open_leads,
        reps.round_robin_weight,
        coalesce(owned.open_leads, 0) as open_leads,
        coalesce(owned.open_tier_1_leads, 0) as open_tier_1_leads,
        coalesce(owned.open_tier_2_leads, 0) as open_tier_2_leads,
        coalesce(owned.assigned_this_run, 0) as assigned_this_run,
        cast(coalesce(owned.open_leads, 0) as {{ dbt.type_float() }})
        / nullif(reps.capacity_open_leads, 0) as capacity_used_share,
        coalesce(sla.breached_unanswered, 0) as sla_breached_unanswered,
        coalesce(sla.at_risk, 0) as sla_at_risk,

        -- booleans
        reps.is_available,
        reps.is_active_in_crm,
        reps.is_out_of_office,
        coalesce(owned.open_leads, 0) > reps.capacity_open_leads as is_over_capacity,

        -- timestamps
        reps.out_of_office_until,
        {{ lead_scoring.as_of() }} as reported_at

    from reps
    left join owned
        on reps.rep_id = owned.rep_id
    left join sla
        on reps.rep_id = sla.rep_id

)

select * from final
