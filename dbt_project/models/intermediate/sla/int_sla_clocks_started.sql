{#- One SLA clock per routed Lead whose tier has an SLA policy (seeds/sla_policies.csv) and
    who may be worked (people who opted out of e-mail or are Do Not Call have none, nor a Lead
    recycled to nurture after max_attempts owner Tasks without a response).
    Clock start (sla_clock_basis):
      assignment    every owner routing chose (account owner, territory, round-robin, queues):
                    marts.lead_routing.assigned_at
      lead_created  a kept working owner (routing_rule working_owner): routing did not make
                    that assignment and the CRM does not say when the owner got the Lead, so
                    the clock starts at the Lead's CreatedDate (assigned_at when unknown)
    Breaches escalate to escalation_target (policy: the rep's manager or the queue's
    escalation user). The owner's business hours (seeds/business_hours.csv; NULL for queues)
    come along for int_sla_clocks_due_computed. -#}
with

lead_routing as (

    select * from {{ ref('lead_routing') }}

),

sla_policies as (

    select * from {{ ref('sla_policies') }}

),

reps as (

    select * from {{ ref('int_reps_availability_evaluated') }}

),

queues as (

    select * from {{ ref('routing_queues') }}

),

business_hours as (

    select * from {{ ref('business_hours') }}

),

final as (

    select
        lead_routing.crm_id,
        lead_routing.tier,
        lead_routing.owner_id,
        lead_routing.owner_type,
        lead_routing.routing_rule,
        lead_routing.assigned_at,
        case
            when lead_routing.routing_rule = 'working_owner'
                then coalesce(lead_routing.lead_created_at, lead_routing.assigned_at)
            else lead_routing.assigned_at
        end as sla_started_at,
        case
            when lead_routing.routing_rule = 'working_owner' and lead_routing.lead_created_at is not null
                then 'lead_created'
            else 'assignment'
        end as sla_clock_basis,
        sla_policies.response_minutes,
        sla_policies.at_risk_share,
        sla_policies.business_hours_only,
        case
            when sla_policies.escalation_target = 'manager'
                then coalesce(reps.manager_id, queues.escalation_user_id)
            when sla_policies.escalation_target = 'queue'
                then coalesce(queues.escalation_user_id, reps.manager_id)
            else sla_policies.escalation_target
        end as escalation_target,
        business_hours.utc_offset_minutes,
        business_hours.open_hour,
        business_hours.close_hour,
        business_hours.work_days
    from lead_routing
    inner join sla_policies
        on lead_routing.tier = sla_policies.tier
    left join reps
        on lead_routing.owner_id = reps.rep_id
    left join queues
        on lead_routing.owner_id = queues.queue_id
    left join business_hours
        on reps.business_hours_id = business_hours.business_hours_id
    where not (lead_routing.has_opted_out_of_email or lead_routing.is_do_not_call)
        -- a Lead recycled after max_attempts waits in the nurture queue for the person: no clock
        and lead_routing.routing_rule <> 'recycled_after_attempts'

)

select * from final
