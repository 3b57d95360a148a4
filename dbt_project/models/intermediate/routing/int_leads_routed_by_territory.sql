{#- Routing step 3: weighted round-robin among the reps matching the Lead's territory x
    segment x language x industry (the pool = that set of reps, from the seed, whoever is
    available now). Continues from the earlier counts per pool; no rep beyond capacity (a rep
    in several pools keeps the best positions, the rest go on to the team round-robin).
    The placing is macro pool_round_robin, shared with the team step. -#}
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

territory_members as (

    select distinct
        territory_pool_leads.routing_pool,
        territory_eligible.rep_id
    from territory_pool_leads
    inner join territory_eligible
        on territory_pool_leads.crm_id = territory_eligible.crm_id

),

{{ lead_scoring.pool_round_robin(
    'territory', 'territory_pool_leads', 'territory_members', 'rep_capacity',
    ['account_owner_assigned'], 'prior_counts',
    var('routing_max_leads_per_rep_per_run', 512),
) }},

final as (

    select * from territory_routed

)

select * from final
