{#- One row per open Lead whose tier has a max_attempts in seeds/sla_policies.csv (blank =
    never recycled): how many times its owner tried to reach the person without an answer.
      attempt   a CRM Task on the Lead by its owner (Task.OwnerId = the Lead's CRM owner; for
                a Lead routing recycled earlier, the rep who owned it then, so the count
                survives the move to the nurture queue); never leadscore's own handoff Task
                (Leadscore_Action_Id__c set)
      response  inbound engagement from the person: an activity of an intent signal worth
                points (seeds/intent_signals.csv points > 0: a page that scores, a form, a
                webinar, an e-mail click, a demo request; not an e-mail open or a plain visit),
                on any of the person's merged records
    unanswered_attempts counts the attempts after the person's last response (all of them
    when the person never responded), up to var('as_of'); is_recycled when that reaches
    max_attempts. A later response starts the count over: the Lead is no longer recycled.
    A converted Lead (an opportunity) is not open and is not here. -#}
with

leads as (

    select * from {{ ref('int_leads_mapped_to_territories') }}

),

previously_routed as (

    select * from {{ ref('int_leads_previously_routed') }}

),

lead_scores as (

    select * from {{ ref('lead_scores') }}

),

tasks as (

    select * from {{ ref('stg_salesforce__tasks') }}

),

activities as (

    select * from {{ ref('int_activities_classified') }}

),

intent_signals as (

    select * from {{ ref('intent_signals') }}

),

sla_policies as (

    select * from {{ ref('sla_policies') }}

),

limited_leads as (

    select
        leads.crm_id,
        leads.tier,
        lead_scores.person_key,
        sla_policies.max_attempts,
        case
            when previously_routed.previous_routing_rule = 'recycled_after_attempts'
                then coalesce(previously_routed.previous_crm_owner_id, leads.crm_owner_id)
            else leads.crm_owner_id
        end as attempt_owner_id
    from leads
    inner join sla_policies
        on leads.tier = sla_policies.tier
    inner join lead_scores
        on leads.crm_id = lead_scores.crm_id
    left join previously_routed
        on leads.crm_id = previously_routed.crm_id
    where sla_policies.max_attempts is not null

),

responses as (

    select
        limited_leads.crm_id,
        max(activities.occurred_at) as last_response_at
    from limited_leads
    inner join activities
        on limited_leads.person_key = activities.person_key
    inner join intent_signals
        on activities.signal_id = intent_signals.signal_id
    where intent_signals.points > 0
        and activities.occurred_at <= {{ lead_scoring.as_of() }}
    group by limited_leads.crm_id

),

attempts as (

    select
        limited_leads.crm_id,
        count(*) as unanswered_attempts,
        min(tasks.created_at) as first_unanswered_attempt_at,
        max(tasks.created_at) as last_attempt_at
    from limited_leads
    inner join tasks
        on limited_leads.crm_id = tasks.who_id
        and limited_leads.attempt_owner_id = tasks.owner_id
    left join responses
        on limited_leads.crm_id = responses.crm_id
    -- leadscore's own handoff Task asks for an attempt; it is not one
    where {{ lead_scoring.is_rep_task('tasks') }}
        and tasks.created_at <= {{ lead_scoring.as_of() }}
        and (responses.last_response_at is null or tasks.created_at > responses.last_response_at)
    group by limited_leads.crm_id

),

final as (

    select
        -- ids
        limited_leads.crm_id,
        limited_leads.attempt_owner_id,

        -- numerics
        limited_leads.tier,
        limited_leads.max_attempts,
        coalesce(attempts.unanswered_attempts, 0) as unanswered_attempts,

        -- booleans
        coalesce(attempts.unanswered_attempts, 0) >= limited_leads.max_attempts as is_recycled,

        -- timestamps
        attempts.first_unanswered_attempt_at,
        attempts.last_attempt_at,
        responses.last_response_at

    from limited_leads
    left join attempts
        on limited_leads.crm_id = attempts.crm_id
    left join responses
        on limited_leads.crm_id = responses.crm_id

)

select * from final
