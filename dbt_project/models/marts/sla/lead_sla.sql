{#- One row per routed Lead whose tier has an SLA policy (seeds/sla_policies.csv, default
    Tier 1: 5 min, Tier 2: 1 h, Tier 3: 24 h) as of var('as_of').
    Clock start (sla_clock_basis):
      assignment    every owner routing chose (account owner, territory, round-robin, queues):
                    marts.lead_routing.assigned_at
      lead_created  a kept working owner (routing_rule working_owner): routing did not make
                    that assignment and the CRM does not say when the owner got the Lead, so
                    the clock starts at the Lead's CreatedDate (assigned_at when unknown)
    The first response is the first CRM Task on the Lead by its owner at or after the clock
    start (any Task for a queue-owned Lead: the marketing touch), so minutes_to_first_response
    is never negative; a working owner's Tasks logged before the Lead's CreatedDate do not count.
    Status:
      met       first response at or before the due time
      breached  first response after the due time, or none and as_of is past the due time
      at_risk   no response yet and at least at_risk_share of the time is used
      on_track  otherwise
    is_due_before_routing: the SLA fell due before routing first saw the Lead (only a kept
    working owner's clock can); such a breach is reported (compliance, speed to lead) but not
    alerted: nobody could have acted on it.
    Breaches escalate to escalation_target (policy: the rep's manager or the queue's
    escalation user). People who opted out (e-mail or Do Not Call) are not worked, so have no SLA. With
    business_hours_only the clock runs only in the owner's business hours
    (seeds/business_hours.csv). -#}
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

tasks as (

    select * from {{ ref('stg_salesforce__tasks') }}

),

business_hours as (

    select * from {{ ref('business_hours') }}

),

clocks as (

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

),

{{ lead_scoring.sla_due_times('clocks') }},

responses as (

    select
        clocks.crm_id,
        min(tasks.created_at) as first_response_at
    from clocks
    inner join tasks
        on clocks.crm_id = tasks.who_id
        and (clocks.owner_type = 'queue' or clocks.owner_id = tasks.owner_id)
        and clocks.sla_started_at <= tasks.created_at
    where tasks.created_at <= {{ lead_scoring.as_of() }}
    group by clocks.crm_id

),

statuses as (

    select
        clocks.*,
        due_times.sla_due_at,
        responses.first_response_at,
        case
            when responses.first_response_at is not null and responses.first_response_at <= due_times.sla_due_at
                then 'met'
            when responses.first_response_at is not null then 'breached'
            when {{ lead_scoring.as_of() }} > due_times.sla_due_at then 'breached'
            when {{ lead_scoring.epoch_seconds(lead_scoring.as_of()) }}
                >= {{ lead_scoring.epoch_seconds('clocks.sla_started_at') }}
                + clocks.at_risk_share
                * (
                    {{ lead_scoring.epoch_seconds('due_times.sla_due_at') }}
                    - {{ lead_scoring.epoch_seconds('clocks.sla_started_at') }}
                )
                then 'at_risk'
            else 'on_track'
        end as sla_status
    from clocks
    inner join due_times
        on clocks.crm_id = due_times.crm_id
    left join responses
        on clocks.crm_id = responses.crm_id

),

final as (

    select
        -- ids
        crm_id,
        owner_id,
        escalation_target,

        -- strings
        owner_type,
        routing_rule,
        sla_clock_basis,
        sla_status,

        -- numerics
        tier,
        response_minutes,
        case
            when first_response_at is not null
                then (
                    {{ lead_scoring.epoch_seconds('first_response_at') }}
                    - {{ lead_scoring.epoch_seconds('sla_started_at') }}
                )
                / 60.0
        end as minutes_to_first_response,

        -- booleans
        sla_status in ('on_track', 'at_risk') as is_clock_open,
        coalesce(business_hours_only, false) as is_business_hours_only,
        sla_due_at < assigned_at as is_due_before_routing,

        -- timestamps
        assigned_at,
        sla_started_at,
        sla_due_at,
        first_response_at,
        case when sla_status = 'breached' then sla_due_at end as breached_at,
        {{ lead_scoring.as_of() }} as evaluated_at

    from statuses

)

select * from final
