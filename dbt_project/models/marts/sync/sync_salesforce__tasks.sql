{#- Reverse-ETL payload of the handoff Tasks leadscore creates in Salesforce: one row per
    handoff (int_handoffs_triggered) whose trigger and tier have a template in the seed
    action_templates and whose Lead has an SLA clock (marts.lead_sla: nobody is asked to call
    a person who opted out or is Do Not Call), triggered within the template's max_age_hours
    before as_of. Columns are Task fields; Leadscore_Action_Id__c, the External ID, is the
    idempotency key: the write-back creates each row once (an upsert on it) and never sends it
    again, whatever the row becomes. Due = the Lead's SLA due time (ActivityDate its UTC date,
    ReminderDateTime the time); for a handoff triggered after that due time (a Lead crossing
    the SQL threshold long after its assignment), the trigger + the tier's response minutes.
    Description = the score's reasons. Context columns (leading underscore) are never sent:
    ops.crm_actions records them with the created Task. -#}
with

handoffs as (

    select * from {{ ref('int_handoffs_triggered') }}

),

action_templates as (

    select * from {{ ref('action_templates') }}

),

lead_scores as (

    select * from {{ ref('lead_scores') }}

),

lead_sla as (

    select * from {{ ref('lead_sla') }}

),

sla_policies as (

    select * from {{ ref('sla_policies') }}

),

templated as (

    select
        handoffs.*,
        action_templates.subject as task_subject,
        action_templates.priority as task_priority,
        action_templates.task_type,
        action_templates.task_status,
        action_templates.max_age_hours
    from handoffs
    inner join action_templates
        on handoffs.action_kind = action_templates.action_kind
        and handoffs.handoff_trigger = action_templates.handoff_trigger
        and handoffs.tier = action_templates.tier

),

recent as (

    select * from templated
    where {{ dbt.dateadd('hour', 'max_age_hours', 'triggered_at') }} >= {{ lead_scoring.as_of() }}

),

due as (

    select
        recent.*,
        lead_scores.score_reasons,
        case
            when lead_sla.sla_due_at >= recent.triggered_at then lead_sla.sla_due_at
            else {{ dbt.dateadd('minute', 'sla_policies.response_minutes', 'recent.triggered_at') }}
        end as due_at
    from recent
    inner join lead_scores
        on recent.crm_id = lead_scores.crm_id
    inner join lead_sla
        on recent.crm_id = lead_sla.crm_id
    inner join sla_policies
        on recent.tier = sla_policies.tier

),

final as (

    select
        action_id as Leadscore_Action_Id__c,
        crm_id as WhoId,
        owner_id as OwnerId,
        task_subject as Subject,
        score_reasons as Description,
        task_priority as Priority,
        task_status as Status,
        task_type as Type,
        cast(due_at as date) as ActivityDate,
        true as IsReminderSet,
        due_at as ReminderDateTime,
        action_kind as _action_kind,
        handoff_trigger as _action_trigger,
        triggered_at as _triggered_at
    from due

)

select * from final
