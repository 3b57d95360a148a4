{#- Routing step 3: weighted round-robin among the reps matching the Lead's territory x
    segment x language x industry (the pool = that set of reps, from the seed, whoever is
    available now). Continues from the earlier counts per pool; no rep beyond capacity (a rep
    in several pools keeps the best positions, the rest go on to the team round-robin). -#}
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

prior_counts as (

    select * from {{ ref('int_routing_pools_counted') }}

),

account_owner_load as (

    select
        rep_id,
        count(*) as assigned_leads
    from account_owner_assigned
    group by rep_id

),

territory_leads as (

    select fixed_rules.*
    from fixed_rules
    left join account_owner_assigned
        on fixed_rules.crm_id = account_owner_assigned.crm_id
    where fixed_rules.fixed_rule is null
        and account_owner_assigned.crm_id is null

),

territory_eligible as (

    select
        territory_leads.crm_id,
        rep_capacity.rep_id
    from territory_leads
    cross join rep_capacity
    where rep_capacity.is_routable
        and {{ lead_scoring.list_contains('rep_capacity.territories', 'territory_leads.territory') }}
        and {{ lead_scoring.list_contains('rep_capacity.segments', 'territory_leads.segment') }}
        and {{ lead_scoring.list_contains('rep_capacity.languages', 'territory_leads.language') }}
        and {{ lead_scoring.list_contains('rep_capacity.industries', 'territory_leads.industry') }}

),

territory_pools as (

    select
        crm_id,
        {{ lead_scoring.ordered_listagg('rep_id', ';', 'rep_id') }} as routing_pool
    from territory_eligible
    group by crm_id

),

territory_pool_leads as (

    select
        territory_leads.crm_id,
        territory_pools.routing_pool,
        territory_leads.tier,
        territory_leads.composite_score
    from territory_leads
    inner join territory_pools
        on territory_leads.crm_id = territory_pools.crm_id

),

territory_pool_reps as (

    select distinct
        territory_pool_leads.routing_pool,
        rep_capacity.rep_id,
        rep_capacity.round_robin_weight,
        rep_capacity.capacity_left - coalesce(account_owner_load.assigned_leads, 0) as slots_available
    from territory_pool_leads
    inner join territory_eligible
        on territory_pool_leads.crm_id = territory_eligible.crm_id
    inner join rep_capacity
        on territory_eligible.rep_id = rep_capacity.rep_id
    left join account_owner_load
        on rep_capacity.rep_id = account_owner_load.rep_id
    where rep_capacity.is_available
        and rep_capacity.round_robin_weight > 0
        and rep_capacity.capacity_left - coalesce(account_owner_load.assigned_leads, 0) > 0

),

{{ lead_scoring.weighted_round_robin(
    'territory', 'territory_pool_leads', 'territory_pool_reps', 'prior_counts',
    var('routing_max_leads_per_rep_per_run', 512),
) }},

territory_capacity_checked as (

    select
        territory_assigned.*,
        territory_pool_reps.slots_available,
        row_number() over (
            partition by territory_assigned.rep_id
            order by territory_assigned.slot_position asc, territory_assigned.crm_id asc
        ) as take_rank
    from territory_assigned
    inner join territory_pool_reps
        on territory_assigned.routing_pool = territory_pool_reps.routing_pool
        and territory_assigned.rep_id = territory_pool_reps.rep_id

),

final as (

    select
        crm_id,
        routing_pool,
        rep_id,
        slot_position,
        prior_assignments,
        pool_rep_count,
        round_robin_weight
    from territory_capacity_checked
    where take_rank <= slots_available

)

select * from final
