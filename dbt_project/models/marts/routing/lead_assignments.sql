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
    The decisions (owner and rule, in rule order) come from int_leads_routing_decided; here
    each gets its owner's name and type and a reason in words, and only the decisions that
    change the owner are kept (not 'kept', not the owner routing gave it before, not twice in
    one as_of). Earlier runs are read through int_leads_previously_routed and
    int_routing_pools_counted. Available = routable in the seed, active in the CRM, not out
    of office at as_of; under capacity = leads kept + leads newly assigned this run <=
    capacity_open_leads. -#}
with

decisions as (

    select * from {{ ref('int_leads_routing_decided') }}

),

rep_capacity as (

    select * from {{ ref('int_reps_capacity_evaluated') }}

),

queues as (

    select * from {{ ref('routing_queues') }}

),

explained as (

    select
        decisions.*,
        case when decisions.routing_rule in (
                    'opted_out_queue', 'disqualified_queue', 'nurture_queue', 'recycled_after_attempts',
                    'team_fallback_queue'
                )
                then 'queue'
            -- a person may move a Lead to a queue (Salesforce queue Ids start 00G)
            when decisions.routing_rule = 'reassigned_in_crm' and decisions.owner_id like '00G%' then 'queue'
            else 'rep'
        end as owner_type,
        coalesce(owner_rep.rep_name, owner_queue.queue_name, decisions.owner_id) as owner_name,
        case decisions.routing_rule
            when 'opted_out_queue' then {{ dbt.concat([
                "case when decisions.has_opted_out_of_email and decisions.is_do_not_call"
                ~ " then 'Opted out of e-mail and Do Not Call'"
                ~ " when decisions.is_do_not_call then 'Do Not Call' else 'Opted out of e-mail' end",
                "': never routed to a rep; to the Do Not Contact queue'",
            ]) }}
            when 'reassigned_in_crm' then {{ dbt.concat([
                "'Reassigned in the CRM to '", "coalesce(owner_rep.rep_name, owner_queue.queue_name, decisions.owner_id)",
                "', not by routing (which had given it to '", "coalesce(decisions.previous_routed_owner_id, 'nobody')",
                "'): a person decided it, routing keeps it'",
            ]) }}
            when 'disqualified_queue' then 'Tier 4 (disqualified / low fit): to the disqualified queue'
            when 'nurture_queue' then 'Tier 3 (nurture): to the marketing nurture queue'
            when 'recycled_after_attempts' then {{ dbt.concat([
                "'Tier '", "cast(decisions.tier as " ~ dbt.type_string() ~ ")", "': '",
                "cast(decisions.unanswered_attempts as " ~ dbt.type_string() ~ ")",
                "' owner Tasks since '",
                "cast(cast(decisions.first_unanswered_attempt_at as date) as " ~ dbt.type_string() ~ ")",
                "' without a response (max_attempts '",
                "cast(decisions.max_attempts as " ~ dbt.type_string() ~ ")",
                "'): recycled to the marketing nurture queue'",
            ]) }}
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
            -- a recycling is recorded even when the Lead sat in the nurture queue already
            -- (Tier 3 before): the ledger, lead_routing and the nurture members say why
            or (
                explained.routing_rule = 'recycled_after_attempts'
                and coalesce(explained.previous_routing_rule, '') <> 'recycled_after_attempts'
            )
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
