{#- The owner alerts due as of var('as_of'): one row per firing of int_owner_alerts_triggered
    whose record has a person to tell. The recipient is the record's owner (a Lead's routed
    owner in marts.lead_routing, a Contact's or an Account's owner in the CRM) or that owner's
    manager (alert_rules.notify), and must be an active CRM User: queues are never told.
    Quiet hours: a recipient with business hours (routing_reps.business_hours_id) gets an alert
    raised outside them when they next open (deliver_at, within the next 8 days; the same fixed
    UTC offset and work days as the SLA clocks); anyone else right away (deliver_at = as_of).
    The Python side (lead_scoring.owner_alerts) raises each alert_id once into ops.alerts. -#}
{%- set horizon_days = 8 -%}
with

triggered as (

    select * from {{ ref('int_owner_alerts_triggered') }}

),

lead_routing as (

    select * from {{ ref('lead_routing') }}

),

contacts as (

    select * from {{ ref('stg_salesforce__contacts') }}

),

accounts as (

    select * from {{ ref('stg_salesforce__accounts') }}

),

users as (

    select * from {{ ref('stg_salesforce__users') }}

),

routing_reps as (

    select * from {{ ref('routing_reps') }}

),

business_hours as (

    select * from {{ ref('business_hours') }}

),

calendar_days as (

    {{ dbt.generate_series(horizon_days) }}

),

record_owners as (

    select
        crm_id,
        'Lead' as crm_object,
        owner_id
    from lead_routing
    union all
    select
        contact_id as crm_id,
        'Contact' as crm_object,
        owner_id
    from contacts
    union all
    select
        account_id as crm_id,
        'Account' as crm_object,
        owner_id
    from accounts

),

addressed as (

    select
        triggered.*,
        record_owners.owner_id as record_owner_id,
        case
            when triggered.notify = 'manager' then owners.manager_id
            else record_owners.owner_id
        end as recipient_id
    from triggered
    inner join record_owners
        on triggered.crm_id = record_owners.crm_id
        and triggered.crm_object = record_owners.crm_object
    inner join users as owners
        on record_owners.owner_id = owners.user_id

),

recipient_hours as (

    select
        routing_reps.rep_id as recipient_id,
        business_hours.open_hour,
        business_hours.close_hour,
        business_hours.work_days,
        {{ lead_scoring.epoch_seconds(lead_scoring.as_of()) }} + business_hours.utc_offset_minutes * 60
            as local_now_seconds
    from routing_reps
    inner join business_hours
        on routing_reps.business_hours_id = business_hours.business_hours_id

),

recipient_openings as (

    select
        recipient_hours.recipient_id,
        recipient_hours.local_now_seconds,
        recipient_hours.work_days,
        {{ lead_scoring.local_day_seconds(
            'recipient_hours.local_now_seconds', 'calendar_days.generated_number', 'recipient_hours.open_hour',
        ) }} as open_seconds,
        {{ lead_scoring.local_day_seconds(
            'recipient_hours.local_now_seconds', 'calendar_days.generated_number', 'recipient_hours.close_hour',
        ) }} as close_seconds,
        {{ lead_scoring.local_iso_weekday('recipient_hours.local_now_seconds', 'calendar_days.generated_number') }}
            as iso_weekday
    from recipient_hours
    cross join calendar_days

),

recipient_next_open as (

    select
        recipient_id,
        min(
            case when open_seconds > local_now_seconds then open_seconds else local_now_seconds end
            - local_now_seconds
        ) as seconds_to_open
    from recipient_openings
    where close_seconds > local_now_seconds
        and close_seconds > open_seconds
        and {{ lead_scoring.list_contains(
            'work_days', "cast(iso_weekday as " ~ dbt.type_string() ~ ")",
        ) }}
    group by recipient_id

),

final as (

    select
        -- ids
        addressed.alert_id,
        addressed.rule_id,
        addressed.crm_id,
        addressed.recipient_id,
        addressed.record_owner_id,

        -- strings
        addressed.rule_kind,
        addressed.crm_object,
        addressed.notify,
        recipients.user_name as recipient_name,
        addressed.signal_id,
        {{ dbt.concat([
            'addressed.crm_object', "' '", 'addressed.crm_id', "': '", 'addressed.reason',
            "' ('", 'addressed.rule_label', "')'",
        ]) }} as message,

        -- numerics
        addressed.composite_score,
        addressed.baseline_score,
        addressed.tier,
        addressed.occurrences,
        addressed.window_hours,
        cast(coalesce(recipient_next_open.seconds_to_open, 0) as {{ dbt.type_bigint() }}) as seconds_held,

        -- booleans
        coalesce(recipient_next_open.seconds_to_open, 0) > 0 as is_held,

        -- timestamps
        addressed.window_started_at,
        addressed.triggered_at,
        {{ dbt.dateadd(
            'second',
            'cast(coalesce(recipient_next_open.seconds_to_open, 0) as ' ~ dbt.type_bigint() ~ ')',
            lead_scoring.as_of(),
        ) }} as deliver_at

    from addressed
    inner join users as recipients
        on addressed.recipient_id = recipients.user_id
    left join recipient_next_open
        on addressed.recipient_id = recipient_next_open.recipient_id
    where recipients.is_active

)

select * from final
