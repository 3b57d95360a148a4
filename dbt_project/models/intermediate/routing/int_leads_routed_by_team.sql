{#- Routing step 4: the Leads no territory pool took, by weighted round-robin among the
    available reps of the territory's team with capacity left (pool team:<team>), continuing
    from the earlier counts (macro pool_round_robin, shared with the territory step). Leads
    left over go to the team's fallback queue (marts.lead_assignments). -#}
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

team_members as (

    select
        {{ dbt.concat(["'team:'", 'team']) }} as routing_pool,
        rep_id
    from rep_capacity

),

{{ lead_scoring.pool_round_robin(
    'team', 'team_leads', 'team_members', 'rep_capacity',
    ['account_owner_assigned', 'territory_assigned'], 'prior_counts',
    var('routing_max_leads_per_rep_per_run', 512),
) }},

final as (

    select * from team_routed

)

select * from final
