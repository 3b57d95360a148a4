{#- One row per handoff: an instant at which the rep who owns a Lead must get a "call now"
    Task. For the Lead's current assignment (marts.lead_routing) to a rep, two triggers:
      routed  routing gave the Lead to the rep (account_owner, territory_match, round_robin;
              not a kept working owner, nor a person's reassignment in the CRM) at
              assigned_at; tier = the tier at the assignment
      sql     the Lead crossed the SQL threshold while the rep owned it: a
              marts.lead_score_history row with is_sql whose earlier row had not
    The tiers that get a Task, and its words, are the seed action_templates'. Both triggers at
    one instant for one owner are one handoff (routed first). action_id is the idempotency key
    the write-back stores on the Task (Leadscore_Action_Id__c):
    'handoff:<Lead Id>:<owner Id>:<epoch seconds of triggered_at>', the same on every run and
    engine, so a re-run finds the Task it made instead of making another. -#}
with

lead_routing as (

    select * from {{ ref('lead_routing') }}

),

lead_assignments as (

    select * from {{ ref('lead_assignments') }}

),

lead_score_history as (

    select * from {{ ref('lead_score_history') }}
    {{ lead_scoring.fast_lane_scope('crm_id', 'scored') }}

),

rep_assignments as (

    select
        lead_routing.crm_id,
        lead_routing.owner_id,
        lead_routing.assigned_at
    from lead_routing
    where lead_routing.owner_type = 'rep'

),

routed as (

    select
        rep_assignments.crm_id,
        rep_assignments.owner_id,
        'routed' as handoff_trigger,
        1 as trigger_priority,
        lead_assignments.tier,
        rep_assignments.assigned_at as triggered_at
    from rep_assignments
    inner join lead_assignments
        on rep_assignments.crm_id = lead_assignments.crm_id
        and rep_assignments.assigned_at = lead_assignments.assigned_at
    where lead_assignments.routing_rule in ('account_owner', 'territory_match', 'round_robin')

),

score_changes as (

    select
        crm_id,
        tier,
        is_sql,
        scored_at,
        lag(is_sql) over (partition by crm_id order by scored_at) as was_sql
    from lead_score_history
    where crm_object = 'Lead'
        and scored_at <= {{ lead_scoring.as_of() }}

),

sql_crossed as (

    select
        rep_assignments.crm_id,
        rep_assignments.owner_id,
        'sql' as handoff_trigger,
        2 as trigger_priority,
        score_changes.tier,
        score_changes.scored_at as triggered_at
    from rep_assignments
    inner join score_changes
        on rep_assignments.crm_id = score_changes.crm_id
        and rep_assignments.assigned_at <= score_changes.scored_at
    where score_changes.is_sql
        and not score_changes.was_sql

),

unioned as (

    select * from routed
    union all
    select * from sql_crossed

),

ranked as (

    select
        unioned.*,
        row_number() over (
            partition by unioned.crm_id, unioned.owner_id, unioned.triggered_at
            order by unioned.trigger_priority
        ) as trigger_rank
    from unioned

),

final as (

    select
        -- ids
        {{ dbt.concat([
            "'handoff:'", 'crm_id', "':'", 'owner_id', "':'",
            "cast(cast(" ~ lead_scoring.epoch_seconds('triggered_at') ~ " as " ~ dbt.type_bigint() ~ ") as "
            ~ dbt.type_string() ~ ")",
        ]) }} as action_id,
        crm_id,
        owner_id,

        -- strings
        'handoff' as action_kind,
        handoff_trigger,

        -- numerics
        tier,

        -- timestamps
        triggered_at

    from ranked
    where trigger_rank = 1

)

select * from final
