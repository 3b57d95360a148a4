{#- Every open Lead's routing decision as of var('as_of'): the owner and the first rule that
    matched, in order (docs/architecture.md, "Routing and SLAs"):
      opted_out_queue     opted out of e-mail or Do Not Call: never to a rep
      reassigned_in_crm   a person moved it in the CRM to an owner routing did not give it:
                          that owner stays while the CRM keeps it
      disqualified_queue  Tier 4
      nurture_queue       Tier 3
      recycled_after_attempts
                          the owner's max_attempts Tasks got no response: the nurture queue
      working_owner       Tier 1-2, the CRM owner is an available rep and has a Task on it
      kept                Tier 1-2, routing's earlier owner is still an available rep
      account_owner       the Account matched by e-mail/website domain has an available owner
                          under capacity
      territory_match     weighted round-robin among the reps matching territory x segment x
                          language x industry (pool = that set of reps)
      round_robin         weighted round-robin among the team's reps (pool = the team)
      team_fallback_queue nobody available with capacity: the team's fallback queue
    with what the reason needs (pool, weight, earlier Leads in the pool, the team's reps).
    Each step is its own intermediate table (int_leads_fixed_rules_applied,
    int_reps_capacity_evaluated, int_leads_routed_to_account_owners, int_leads_routed_by_territory,
    int_leads_routed_by_team): small queries on every engine. marts.lead_assignments records
    the decisions that change an owner. -#}
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

territory_accepted as (

    select * from {{ ref('int_leads_routed_by_territory') }}

),

team_assigned as (

    select * from {{ ref('int_leads_routed_by_team') }}

),

queues as (

    select * from {{ ref('routing_queues') }}

),

team_reps_summary as (

    select
        team,
        count(*) as team_reps,
        sum(case when not is_active_in_crm then 1 else 0 end) as inactive_reps,
        sum(case when is_active_in_crm and is_out_of_office then 1 else 0 end) as out_of_office_reps
    from rep_capacity
    where is_routable
    group by team

),

fallback_queues as (

    select * from queues
    where purpose = 'team_fallback'

),

special_queues as (

    select
        max(case when purpose = 'opted_out' then queue_id end) as opted_out_queue_id,
        max(case when purpose = 'disqualified' then queue_id end) as disqualified_queue_id,
        max(case when purpose = 'nurture' then queue_id end) as nurture_queue_id
    from queues

),

final as (

    select
        fixed_rules.crm_id,
        fixed_rules.tier,
        fixed_rules.crm_owner_id,
        fixed_rules.has_opted_out_of_email,
        fixed_rules.is_do_not_call,
        fixed_rules.previous_routed_owner_id,
        fixed_rules.previous_crm_owner_id,
        fixed_rules.previous_routing_rule,
        fixed_rules.is_recorded_this_run,
        case
            when fixed_rules.fixed_rule = 'opted_out_queue' then special_queues.opted_out_queue_id
            when fixed_rules.fixed_rule = 'disqualified_queue' then special_queues.disqualified_queue_id
            when fixed_rules.fixed_rule in ('nurture_queue', 'recycled_after_attempts')
                then special_queues.nurture_queue_id
            when fixed_rules.fixed_rule in ('working_owner', 'reassigned_in_crm') then fixed_rules.crm_owner_id
            when fixed_rules.fixed_rule = 'kept' then fixed_rules.previous_routed_owner_id
            when account_owner_assigned.rep_id is not null then account_owner_assigned.rep_id
            when territory_accepted.rep_id is not null then territory_accepted.rep_id
            when team_assigned.rep_id is not null then team_assigned.rep_id
            else fallback_queues.queue_id
        end as owner_id,
        case
            when fixed_rules.fixed_rule is not null then fixed_rules.fixed_rule
            when account_owner_assigned.rep_id is not null then 'account_owner'
            when territory_accepted.rep_id is not null then 'territory_match'
            when team_assigned.rep_id is not null then 'round_robin'
            else 'team_fallback_queue'
        end as routing_rule,
        case
            when territory_accepted.rep_id is not null then territory_accepted.routing_pool
            when team_assigned.rep_id is not null then team_assigned.routing_pool
        end as routing_pool,
        coalesce(territory_accepted.pool_rep_count, team_assigned.pool_rep_count) as pool_rep_count,
        coalesce(territory_accepted.prior_assignments, team_assigned.prior_assignments) as prior_assignments,
        coalesce(territory_accepted.round_robin_weight, team_assigned.round_robin_weight) as round_robin_weight,
        fixed_rules.territory,
        fixed_rules.segment,
        fixed_rules.language,
        fixed_rules.industry,
        fixed_rules.team,
        fixed_rules.matched_by,
        fixed_rules.matched_domain,
        fixed_rules.matched_account_name,
        fixed_rules.owner_first_task_at,
        fixed_rules.unanswered_attempts,
        fixed_rules.max_attempts,
        fixed_rules.first_unanswered_attempt_at,
        fallback_queues.queue_name as fallback_queue_name,
        team_reps_summary.team_reps,
        team_reps_summary.inactive_reps,
        team_reps_summary.out_of_office_reps
    from fixed_rules
    cross join special_queues
    left join account_owner_assigned
        on fixed_rules.crm_id = account_owner_assigned.crm_id
    left join territory_accepted
        on fixed_rules.crm_id = territory_accepted.crm_id
    left join team_assigned
        on fixed_rules.crm_id = team_assigned.crm_id
    left join fallback_queues
        on fixed_rules.team = fallback_queues.team
    left join team_reps_summary
        on fixed_rules.team = team_reps_summary.team

)

select * from final
