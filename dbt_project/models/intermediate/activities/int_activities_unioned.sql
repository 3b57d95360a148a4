{#- Every MAP activity up to as_of in one shape, whatever its source, with the identity it
    carries (CRM id and/or e-mail), matched to a person or not: the table to look at for
    activities nobody was matched to. Unknown Marketo activity types are kept as
    'unknown:<id>' (scored 0, visible to data quality). Not on the scoring path:
    int_activities_matched_to_people reads the staging models itself and matches once per
    Marketo lead instead of once per activity. -#}
with

marketo_activities as (

    select * from {{ ref('stg_map__marketo_activities') }}

),

marketo_leads as (

    select * from {{ ref('stg_map__marketo_leads') }}

),

marketo_activity_types as (

    select * from {{ ref('marketo_activity_types') }}

),

events as (

    select * from {{ ref('stg_map__events') }}

),

marketo_resolved as (

    select
        marketo_activities.activity_id,
        'marketo' as activity_source,
        coalesce(marketo_leads.crm_contact_id, marketo_leads.crm_lead_id) as crm_id,
        marketo_leads.email,
        {{ lead_scoring.marketo_event_type(
            'marketo_activities.activity_type_id', 'marketo_activity_types.event_type'
        ) }} as event_type,
        marketo_activities.primary_attribute_value as url,
        marketo_activities.occurred_at
    from marketo_activities
    left join marketo_leads
        on marketo_activities.marketo_lead_id = marketo_leads.marketo_lead_id
    left join marketo_activity_types
        on marketo_activities.activity_type_id = marketo_activity_types.activity_type_id

),

generic_events as (

    select
        activity_id,
        'events' as activity_source,
        crm_id,
        email,
        event_type,
        url,
        occurred_at
    from events

),

unioned as (

    select * from marketo_resolved
    union all
    select * from generic_events

),

final as (

    select * from unioned
    where occurred_at <= {{ lead_scoring.as_of() }}

)

select * from final
