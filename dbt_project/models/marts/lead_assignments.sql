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
      opted_out_queue     opted out of e-mail: never to a rep
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
    Available = routable in the seed, active in the CRM, not out of office at as_of; under
    capacity = leads kept + leads newly assigned this run <= capacity_open_leads. -#}
with

leads as (

    select * from {{ ref('int_leads_mapped_to_territories') }}

),

reps as (

    select * from {{ ref('int_reps_availability_evaluated') }}

),

queues as (

    select * from {{ ref('routing_queues') }}

),

previous_assignments as (

    {% if is_incremental() -%}
    select
        crm_id,
        owner_id,
        owner_type,
        routing_rule,
        routing_pool,
        assigned_at
    from {{ this }}
    where assigned_at < {{ lead_scoring.as_of() }}
    {%- else -%}
    select
        cast(null as {{ dbt.type_string() }}) as crm_id,
        cast(null as {{ dbt.type_string() }}) as owner_id,
        cast(null as {{ dbt.type_string() }}) as owner_type,
        cast(null as {{ dbt.type_string() }}) as routing_rule,
        cast(null as {{ dbt.type_string() }}) as routing_pool,
        cast(null as {{ dbt.type_timestamp() }}) as assigned_at
    where 1 = 0
    {%- endif %}

),

already_recorded as (

    {% if is_incremental() -%}
    select distinct crm_id
    from {{ this }}
    where assigned_at = {{ lead_scoring.as_of() }}
    {%- else -%}
    select cast(null as {{ dbt.type_string() }}) as crm_id
    where 1 = 0
    {%- endif %}

),

previous_ranked as (

    select
        previous_assignments.*,
        row_number() over (
            partition by previous_assignments.crm_id
            order by previous_assignments.assigned_at desc, previous_assignments.owner_id asc
        ) as recency_rank
    from previous_assignments

),

latest_previous as (

    select * from previous_ranked
    where recency_rank = 1

),

prior_counts as (

    select
        routing_pool,
        owner_id as rep_id,
        count(*) as assignments
    from previous_assignments
    where owner_type = 'rep'
        and routing_pool is not null
    group by routing_pool, owner_id

),


-- Step 1: the rules that need no capacity: queues, the working owner, the earlier owner.
first_pass as (

    select
        leads.*,
        latest_previous.owner_id as previous_routed_owner_id,
        case
            when leads.has_opted_out_of_email then 'opted_out_queue'
            when leads.tier = 4 then 'disqualified_queue'
            when leads.tier = 3 then 'nurture_queue'
            when crm_owner.is_available and leads.is_worked_by_owner then 'working_owner'
            when latest_previous.owner_type = 'rep' and previous_owner.is_available then 'kept'
        end as fixed_rule
    from leads
    left join reps as crm_owner
        on leads.crm_owner_id = crm_owner.rep_id
    left join latest_previous
        on leads.crm_id = latest_previous.crm_id
    left join reps as previous_owner
        on latest_previous.owner_id = previous_owner.rep_id

),

kept_load as (

    select
        case when fixed_rule = 'working_owner' then crm_owner_id else previous_routed_owner_id end as rep_id,
        count(*) as kept_leads
    from first_pass
    where fixed_rule in ('working_owner', 'kept')
    group by case when fixed_rule = 'working_owner' then crm_owner_id else previous_routed_owner_id end

),

rep_capacity as (

    select
        reps.*,
        coalesce(kept_load.kept_leads, 0) as kept_leads,
        reps.capacity_open_leads - coalesce(kept_load.kept_leads, 0) as capacity_left
    from reps
    left join kept_load
        on reps.rep_id = kept_load.rep_id

),

to_route as (

    select * from first_pass
    where fixed_rule is null

),


-- Step 2: the matched Account's owner, if available and under capacity.
account_owner_candidates as (

    select
        to_route.crm_id,
        to_route.account_owner_id as rep_id,
        rep_capacity.capacity_left,
        row_number() over (
            partition by to_route.account_owner_id
            order by to_route.tier asc, to_route.composite_score desc, to_route.crm_id asc
        ) as take_rank
    from to_route
    inner join rep_capacity
        on to_route.account_owner_id = rep_capacity.rep_id
    where rep_capacity.is_available

),

account_owner_assigned as (

    select
        crm_id,
        rep_id
    from account_owner_candidates
    where take_rank <= capacity_left

),

account_owner_load as (

    select
        rep_id,
        count(*) as assigned_leads
    from account_owner_assigned
    group by rep_id

),


-- Step 3: territory x segment x skill pools, weighted round-robin.
territory_leads as (

    select to_route.*
    from to_route
    left join account_owner_assigned
        on to_route.crm_id = account_owner_assigned.crm_id
    where account_owner_assigned.crm_id is null

),

territory_eligible as (

    select
        territory_leads.crm_id,
        reps.rep_id
    from territory_leads
    cross join reps
    where reps.is_routable
        and {{ lead_scoring.list_contains('reps.territories', 'territory_leads.territory') }}
        and {{ lead_scoring.list_contains('reps.segments', 'territory_leads.segment') }}
        and {{ lead_scoring.list_contains('reps.languages', 'territory_leads.language') }}
        and {{ lead_scoring.list_contains('reps.industries', 'territory_leads.industry') }}

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

-- A rep in several pools could be given more than their capacity in one run: the
-- positions beyond it go on to the team round-robin.
territory_capacity_checked as (

    select
        territory_assigned.*,
        row_number() over (
            partition by territory_assigned.rep_id
            order by territory_assigned.slot_position, territory_assigned.crm_id
        ) as take_rank,
        territory_pool_reps.slots_available
    from territory_assigned
    inner join territory_pool_reps
        on territory_assigned.routing_pool = territory_pool_reps.routing_pool
        and territory_assigned.rep_id = territory_pool_reps.rep_id

),

territory_accepted as (

    select * from territory_capacity_checked
    where take_rank <= slots_available

),

territory_load as (

    select
        rep_id,
        count(*) as assigned_leads
    from territory_accepted
    group by rep_id

),


-- Step 4: the team's round-robin.
team_leads as (

    select
        territory_leads.crm_id,
        {{ dbt.concat(["'team:'", 'territory_leads.team']) }} as routing_pool,
        territory_leads.tier,
        territory_leads.composite_score,
        territory_leads.team
    from territory_leads
    left join territory_accepted
        on territory_leads.crm_id = territory_accepted.crm_id
    where territory_accepted.crm_id is null

),

team_pool_reps as (

    select
        {{ dbt.concat(["'team:'", 'rep_capacity.team']) }} as routing_pool,
        rep_capacity.rep_id,
        rep_capacity.round_robin_weight,
        rep_capacity.capacity_left
        - coalesce(account_owner_load.assigned_leads, 0)
        - coalesce(territory_load.assigned_leads, 0) as slots_available
    from rep_capacity
    left join account_owner_load
        on rep_capacity.rep_id = account_owner_load.rep_id
    left join territory_load
        on rep_capacity.rep_id = territory_load.rep_id
    where rep_capacity.is_available
        and rep_capacity.is_routable
        and rep_capacity.round_robin_weight > 0
        and rep_capacity.capacity_left
        - coalesce(account_owner_load.assigned_leads, 0)
        - coalesce(territory_load.assigned_leads, 0) > 0

),

{{ lead_scoring.weighted_round_robin(
    'team', 'team_leads', 'team_pool_reps', 'prior_counts',
    var('routing_max_leads_per_rep_per_run', 512),
) }},

-- Step 5: whoever is left goes to the team's fallback queue.
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
        first_pass.crm_id,
        first_pass.tier,
        first_pass.crm_owner_id,
        first_pass.previous_routed_owner_id,
        case
            when first_pass.fixed_rule = 'opted_out_queue' then special_queues.opted_out_queue_id
            when first_pass.fixed_rule = 'disqualified_queue' then special_queues.disqualified_queue_id
            when first_pass.fixed_rule = 'nurture_queue' then special_queues.nurture_queue_id
            when first_pass.fixed_rule = 'working_owner' then first_pass.crm_owner_id
            when first_pass.fixed_rule = 'kept' then first_pass.previous_routed_owner_id
            when account_owner_assigned.rep_id is not null then account_owner_assigned.rep_id
            when territory_accepted.rep_id is not null then territory_accepted.rep_id
            when team_assigned.rep_id is not null then team_assigned.rep_id
            else fallback_queues.queue_id
        end as owner_id,
        case
            when first_pass.fixed_rule is not null then first_pass.fixed_rule
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
        first_pass.territory,
        first_pass.segment,
        first_pass.language,
        first_pass.industry,
        first_pass.team,
        first_pass.matched_by,
        first_pass.matched_domain,
        first_pass.matched_account_name,
        first_pass.owner_first_task_at,
        fallback_queues.queue_name as fallback_queue_name,
        team_reps_summary.team_reps,
        team_reps_summary.inactive_reps,
        team_reps_summary.out_of_office_reps
    from first_pass
    cross join special_queues
    left join account_owner_assigned
        on first_pass.crm_id = account_owner_assigned.crm_id
    left join territory_accepted
        on first_pass.crm_id = territory_accepted.crm_id
    left join team_assigned
        on first_pass.crm_id = team_assigned.crm_id
    left join fallback_queues
        on first_pass.team = fallback_queues.team
    left join team_reps_summary
        on first_pass.team = team_reps_summary.team

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
            when 'opted_out_queue' then 'Opted out of e-mail: never routed to a rep; to the Do Not Contact queue'
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
    left join reps as owner_rep
        on decisions.owner_id = owner_rep.rep_id
    left join queues as owner_queue
        on decisions.owner_id = owner_queue.queue_id

),

changed as (

    select explained.*
    from explained
    left join latest_previous
        on explained.crm_id = latest_previous.crm_id
    left join already_recorded
        on explained.crm_id = already_recorded.crm_id
    where explained.routing_rule <> 'kept'
        and (latest_previous.crm_id is null or latest_previous.owner_id <> explained.owner_id)
        and already_recorded.crm_id is null

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
