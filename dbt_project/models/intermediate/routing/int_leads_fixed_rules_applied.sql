{#- Routing step 1, the rules that need no capacity, for every open Lead: opted out of
    e-mail or Do Not Call go to their queue; a Lead a person reassigned in the CRM keeps that
    owner (reassigned_in_crm); Tier 4
    and Tier 3 go to their queues; a Lead whose owner made its tier's max_attempts Tasks without
    a response from the person (int_leads_attempts_counted) is recycled to the nurture queue
    (recycled_after_attempts); a Tier 1-2 Lead keeps its CRM owner if that owner is an
    available rep who worked it (working_owner; not a Lead back from recycling, which is routed
    anew), else the rep routing gave it earlier if still
    available (kept). fixed_rule is NULL for the Leads the next steps place. -#}
with

leads as (

    select * from {{ ref('int_leads_mapped_to_territories') }}

),

reps as (

    select * from {{ ref('int_reps_availability_evaluated') }}

),

previously_routed as (

    select * from {{ ref('int_leads_previously_routed') }}

),

attempts as (

    select * from {{ ref('int_leads_attempts_counted') }}

),

final as (

    select
        leads.*,
        previously_routed.previous_routed_owner_id,
        previously_routed.previous_crm_owner_id,
        previously_routed.previous_owner_type,
        previously_routed.previous_routing_rule,
        coalesce(previously_routed.is_recorded_this_run, false) as is_recorded_this_run,
        attempts.unanswered_attempts,
        attempts.max_attempts,
        attempts.first_unanswered_attempt_at,
        case
            when leads.has_opted_out_of_email or leads.is_do_not_call then 'opted_out_queue'
            -- a person moved the Lead in the CRM to an owner routing did not give it (neither
            -- routing's last owner nor the CRM owner that one replaced): their choice is kept,
            -- then and for as long as the CRM keeps it
            when
                leads.crm_owner_id <> previously_routed.previous_routed_owner_id
                and leads.crm_owner_id <> coalesce(previously_routed.previous_crm_owner_id, '')
                then 'reassigned_in_crm'
            when
                previously_routed.previous_routing_rule = 'reassigned_in_crm'
                and leads.crm_owner_id = previously_routed.previous_routed_owner_id
                then 'reassigned_in_crm'
            when leads.tier = 4 then 'disqualified_queue'
            when leads.tier = 3 then 'nurture_queue'
            when attempts.is_recycled then 'recycled_after_attempts'
            -- a Lead back from recycling is routed anew (with a handoff Task): the CRM still
            -- showing the rep it was taken from is a write-back not landed yet
            when
                crm_owner.is_available and leads.is_worked_by_owner
                and coalesce(previously_routed.previous_routing_rule, '') <> 'recycled_after_attempts'
                then 'working_owner'
            when previously_routed.previous_owner_type = 'rep' and previous_owner.is_available then 'kept'
        end as fixed_rule
    from leads
    left join reps as crm_owner
        on leads.crm_owner_id = crm_owner.rep_id
    left join previously_routed
        on leads.crm_id = previously_routed.crm_id
    left join reps as previous_owner
        on previously_routed.previous_routed_owner_id = previous_owner.rep_id
    left join attempts
        on leads.crm_id = attempts.crm_id

)

select * from final
