{#- Routing step 4: the Leads no territory pool took, by weighted round-robin among the
    available reps of the territory's team with capacity left (pool team:<team>), continuing
    from the earlier counts. Leads left over go to the team's fallback queue (next model). -#}
with

fixed_rules as (

    select * from {{ ref('int_leads_fixed_rules_applied') }}

),

rep_capacity as (

    select * from {{ ref('int_reps_capacity_evaluated') }}

),

account_owner_assigned as (

    select * from {{ ref('int_leads_routed_to_account_owners') }}

),

territory_assigned as (

    select * from {{ ref('int_leads_routed_by_territory') }}

),

prior_counts as (

    select * from {{ ref('int_routing_pools_counted') }}

),

rep_load as (

    select
        rep_id,
        count(*) as assigned_leads
    from account_owner_assigned
    group by rep_id
    union all
    select
        rep_id,
        count(*) as assigned_leads
    from territory_assigned
    group by rep_id

),

rep_load_summed as (

    select
        rep_id,
        sum(assigned_leads) as assigned_leads
    from rep_load
    group by rep_id

),

team_leads as (

    select
        fixed_rules.crm_id,
        {{ dbt.concat(["'team:'", 'fixed_rules.team']) }} as routing_pool,
        fixed_rules.tier,
        fixed_rules.composite_score
    from fixed_rules
    left join account_owner_assigned
        on fixed_rules.crm_id = account_owner_assigned.crm_id
    left join territory_assigned
        on fixed_rules.crm_id = territory_assigned.crm_id
    where fixed_rules.fixed_rule is null
        and account_owner_assigned.crm_id is null
        and territory_assigned.crm_id is null

),

team_pool_reps as (

    select
        {{ dbt.concat(["'team:'", 'rep_capacity.team']) }} as routing_pool,
        rep_capacity.rep_id,
        rep_capacity.round_robin_weight,
        rep_capacity.capacity_left - coalesce(rep_load_summed.assigned_leads, 0) as slots_available
    from rep_capacity
    left join rep_load_summed
        on rep_capacity.rep_id = rep_load_summed.rep_id
    where rep_capacity.is_available
        and rep_capacity.is_routable
        and rep_capacity.round_robin_weight > 0
        and rep_capacity.capacity_left - coalesce(rep_load_summed.assigned_leads, 0) > 0

),

{{ lead_scoring.weighted_round_robin(
    'team', 'team_leads', 'team_pool_reps', 'prior_counts',
    var('routing_max_leads_per_rep_per_run', 512),
) }},

final as (

    select
        crm_id,
        routing_pool,
        rep_id,
        slot_position,
        prior_assignments,
        pool_rep_count,
        round_robin_weight
    from team_assigned

)

select * from final
