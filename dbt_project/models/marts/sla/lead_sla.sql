{#- One row per routed Lead whose tier has an SLA policy (seeds/sla_policies.csv, default
    Tier 1: 5 min, Tier 2: 1 h, Tier 3: 24 h) as of var('as_of'): its clock
    (int_sla_clocks_started: when it starts, sla_clock_basis, escalation target; people who
    opted out of e-mail or are Do Not Call have none), its due time (int_sla_clocks_due_computed:
    around the clock, or only in the owner's business hours) and its status.
    The first response is the first CRM Task on the Lead by its owner at or after the clock
    start (any Task for a queue-owned Lead: the marketing touch; never leadscore's own handoff
    Task), so minutes_to_first_response
    is never negative; a working owner's Tasks logged before the Lead's CreatedDate do not count.
    Status:
      met       first response at or before the due time
      breached  first response after the due time, or none and as_of is past the due time
      at_risk   no response yet and at least at_risk_share of the time is used
      on_track  otherwise
    is_due_before_routing: the SLA fell due before routing first saw the Lead (only a kept
    working owner's clock can); such a breach is reported (compliance, speed to lead) but not
    alerted: nobody could have acted on it. -#}
with

clocks as (

    select * from {{ ref('int_sla_clocks_due_computed') }}

),

tasks as (

    select * from {{ ref('stg_salesforce__tasks') }}

),

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
        -- leadscore's own handoff Task asks for the response; it is not one
        and {{ lead_scoring.is_rep_task('tasks') }}
    group by clocks.crm_id

),

statuses as (

    select
        clocks.*,
        responses.first_response_at,
        case
            when responses.first_response_at is not null and responses.first_response_at <= clocks.sla_due_at
                then 'met'
            when responses.first_response_at is not null then 'breached'
            when {{ lead_scoring.as_of() }} > clocks.sla_due_at then 'breached'
            when {{ lead_scoring.epoch_seconds(lead_scoring.as_of()) }}
                >= {{ lead_scoring.epoch_seconds('clocks.sla_started_at') }}
                + clocks.at_risk_share
                * (
                    {{ lead_scoring.epoch_seconds('clocks.sla_due_at') }}
                    - {{ lead_scoring.epoch_seconds('clocks.sla_started_at') }}
                )
                then 'at_risk'
            else 'on_track'
        end as sla_status
    from clocks
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
