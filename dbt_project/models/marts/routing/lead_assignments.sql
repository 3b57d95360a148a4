{{
    config(
        materialized='incremental',
        incremental_strategy='append',
        full_refresh=false,
    )
}}
{#- The routing ledger: one row per change of a Lead's owner decided by routing (and one row
    the first time routing sees a Lead). Append-only; a re-run of the same as_of appends
    nothing twice. marts.lead_routing reads the latest row per Lead; the weighted round-robin
    continues from the counts in here, so shares stay proportional to the weights over time.

    Rules, first match wins (DESIGN.md "Routing and SLAs"):
      opted_out_queue     opted out of e-mail or Do Not Call: never to a rep
      disqualified_queue  Tier 4
      nurture_queue       Tier 3
      working_owner       Tier 1-2, the CRM owner is an available rep and has a Task on it
      (kept)              Tier 1-2, routing's earlier owner is still an available rep: no row
      account_owner       the Account matched by e-mail/website domain has an available owner
                          under capacity
      territory_match     weighted round-robin among the reps matching territory x segment x
                          language x industry (pool = that set of reps)
      round_robin         weighted round-robin among the team's reps (pool = the team)
      team_fallback_queue nobody available with capacity: the team's fallback queue
    Each step is its own intermediate table (int_leads_fixed_rules_applied,
    int_reps_capacity_evaluated, int_leads_routed_to_account_owners, int_leads_routed_by_territory,
    int_leads_routed_by_team): small queries on every engine. Earlier runs are read through
    int_leads_previously_routed and int_routing_pools_counted.
    Available = routable in the seed, active in the CRM, not out of office at as_of; under
    capacity = leads kept + leads newly assigned this run <= capacity_open_leads. -#}
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

decisions as (

    select
        fixed_rules.crm_id,
        fixed_rules.tier,
        fixed_rules.crm_owner_id,
        fixed_rules.has_opted_out_of_email,
        fixed_rules.is_do_not_call,
        fixed_rules.previous_routed_owner_id,
        fixed_rules.is_recorded_this_run,
        case
            when fixed_rules.fixed_rule = 'opted_out_queue' then special_queues.opted_out_queue_id
            when fixed_rules.fixed_rule = 'disqualified_queue' then special_queues.disqualified_queue_id
            when fixed_rules.fixed_rule = 'nurture_queue' then special_queues.nurture_queue_id
            when fixed_rules.fixed_rule = 'working_owner' then fixed_rules.crm_owner_id
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

),

explained as (

    select
        decisions.*,
        case when decisions.routing_rule in (
                    'opted_out_queue', 'disqualified_queue', 'nurture_queue', 'team_fallback_queue'
                )
                then 'queue'
            else 'rep'
        end as owner_type,
        coalesce(owner_rep.rep_name, owner_queue.queue_name) as owner_name,
        case decisions.routing_rule
            when 'opted_out_queue' then {{ dbt.concat([
                "case when decisions.has_opted_out_of_email and decisions.is_do_not_call"
                ~ " then 'Opted out of e-mail and Do Not Call'"
                ~ " when decisions.is_do_not_call then 'Do Not Call' else 'Opted out of e-mail' end",
                "': never routed to a rep; to the Do Not Contact queue'",
            ]) }}
            when 'disqualified_queue' then 'Tier 4 (disqualified / low fit): to the disqualified queue'
            when 'nurture_queue' then 'Tier 3 (nurture): to the marketing nurture queue'
            when 'working_owner' then {{ dbt.concat([
                "'Kept the working owner '", 'owner_rep.rep_name',
                "': active, in the office, first Task on this lead at '",
                "cast(decisions.owner_first_task_at as " ~ dbt.type_string() ~ ")",
            ]) }}
            when 'account_owner' then {{ dbt.concat([
                "'Tier '", "cast(decisions.tier as " ~ dbt.type_string() ~ ")",
                "': '", 'decisions.matched_by', "' '", 'decisions.matched_domain',
                "' matches account '", 'decisions.matched_account_name',
                "'; its owner '", 'owner_rep.rep_name', "' is available'",
            ]) }}
            when 'territory_match' then {{ dbt.concat([
                "'Tier '", "cast(decisions.tier as " ~ dbt.type_string() ~ ")",
                "': territory '", 'decisions.territory', "' x segment '", 'decisions.segment',
                "' x language '", 'decisions.language',
                "coalesce(" ~ dbt.concat(["' x industry '", 'decisions.industry']) ~ ", '')",
                "': weighted round-robin among '", "cast(decisions.pool_rep_count as " ~ dbt.type_string() ~ ")",
                "' available rep(s), '", 'owner_rep.rep_name', "' (weight '",
                lead_scoring.float_text('decisions.round_robin_weight'),
                "', '", "cast(decisions.prior_assignments as " ~ dbt.type_string() ~ ")",
                "' earlier lead(s) in this pool)'",
            ]) }}
            when 'round_robin' then {{ dbt.concat([
                "'Tier '", "cast(decisions.tier as " ~ dbt.type_string() ~ ")",
                "': no available rep with capacity for territory '", 'decisions.territory',
                "' x segment '", 'decisions.segment', "' x language '", 'decisions.language',
                "'; weighted round-robin in team '", 'decisions.team', "' among '",
                "cast(decisions.pool_rep_count as " ~ dbt.type_string() ~ ")",
                "' available rep(s), '", 'owner_rep.rep_name', "' (weight '",
                lead_scoring.float_text('decisions.round_robin_weight'),
                "', '", "cast(decisions.prior_assignments as " ~ dbt.type_string() ~ ")",
                "' earlier lead(s) in this pool)'",
            ]) }}
            else {{ dbt.concat([
                "'Tier '", "cast(decisions.tier as " ~ dbt.type_string() ~ ")",
                "': no rep of team '", "coalesce(decisions.team, 'none')",
                "' is available with capacity ('",
                "cast(coalesce(decisions.team_reps, 0) as " ~ dbt.type_string() ~ ")", "' reps, '",
                "cast(coalesce(decisions.inactive_reps, 0) as " ~ dbt.type_string() ~ ")", "' inactive, '",
                "cast(coalesce(decisions.out_of_office_reps, 0) as " ~ dbt.type_string() ~ ")",
                "' out of office, the rest at capacity): to the '",
                "coalesce(decisions.fallback_queue_name, 'team fallback')", "' queue'",
            ]) }}
        end as routing_reason
    from decisions
    left join rep_capacity as owner_rep
        on decisions.owner_id = owner_rep.rep_id
    left join queues as owner_queue
        on decisions.owner_id = owner_queue.queue_id

),

changed as (

    select explained.*
    from explained
    where explained.routing_rule <> 'kept'
        and not explained.is_recorded_this_run
        and (
            explained.previous_routed_owner_id is null
            or explained.previous_routed_owner_id <> explained.owner_id
        )

),

final as (

    select
        -- ids
        crm_id,
        owner_id,
        crm_owner_id as previous_owner_id,

        -- strings
        owner_type,
        owner_name,
        routing_rule,
        routing_reason,
        routing_pool,
        team,
        territory,
        segment,

        -- numerics
        tier,

        -- timestamps
        {{ lead_scoring.as_of() }} as assigned_at

    from changed

)

select * from final
