{#- Activities attributed to CRM people: by CRM id first, then by e-mail. Each activity counts
    once per merged person (person_key, see int_people_grouped_by_email): person_id is the CRM
    record it matched. Unmatched activities are not here (int_activities_unioned lists every
    activity) and are matched on a later run once the person exists.

    A CRM id names at most one record (person_id is unique); an identity whose CRM id names
    nobody is matched by e-mail; all records with one e-mail are one merged person, so an
    e-mail match goes to the group's lowest person_id (people_by_email, one row per e-mail).
    Activity ids are unique per source (staging tests); a Marketo id equal to a JSONL event id
    for the same person fails the (person_key, activity_id) test.

    The match is made once per identity, not once per activity: a Marketo activity names its
    Marketo lead, whose CRM ids and e-mail are in stg_map__marketo_leads, so each Marketo lead
    is matched once and its activities join it on the integer lead id; a JSONL event carries
    its own CRM id and e-mail and is its own identity. The two string lookups (CRM id, e-mail)
    run per identity, never per activity.
    The activity's own CRM id and e-mail are not carried: nothing downstream reads them. -#}
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

people as (

    select * from {{ ref('int_people_unified') }}

),

grouped as (

    select * from {{ ref('int_people_grouped_by_email') }}

),

people_keyed as (

    select
        people.person_id,
        grouped.person_key
    from people
    inner join grouped
        on people.person_id = grouped.person_id

),

first_record_by_email as (

    select
        email,
        min(person_id) as person_id
    from people
    where email is not null
    group by email

),

people_by_email as (

    select
        first_record_by_email.email,
        people_keyed.person_id,
        people_keyed.person_key
    from first_record_by_email
    inner join people_keyed
        on first_record_by_email.person_id = people_keyed.person_id

),

identities as (

    -- one row per Marketo lead (its activities join it below) and one per JSONL event up
    -- to as_of (which carries the event's own fields along)
    select
        marketo_lead_id,
        coalesce(crm_contact_id, crm_lead_id) as crm_id,
        email,
        cast(null as {{ dbt.type_string() }}) as event_id,
        cast(null as {{ dbt.type_string() }}) as event_type,
        cast(null as {{ dbt.type_string() }}) as url,
        cast(null as {{ dbt.type_timestamp() }}) as occurred_at
    from marketo_leads

    union all

    select
        cast(null as {{ dbt.type_bigint() }}) as marketo_lead_id,
        crm_id,
        email,
        activity_id as event_id,
        event_type,
        url,
        occurred_at
    from events
    where occurred_at <= {{ lead_scoring.as_of() }}

),

identities_matched as (

    -- the CRM record the identity's CRM id names, else its e-mail's record
    select
        identities.*,
        coalesce(people_by_crm_id.person_id, people_by_email.person_id) as person_id,
        case when people_by_crm_id.person_id is not null then 'crm_id' else 'email' end as matched_by,
        coalesce(people_by_crm_id.person_key, people_by_email.person_key) as person_key
    from identities
    left join people_keyed as people_by_crm_id
        on identities.crm_id = people_by_crm_id.person_id
    left join people_by_email
        on identities.email = people_by_email.email
    where people_by_crm_id.person_id is not null or people_by_email.person_id is not null

),

marketo_matched as (

    select
        marketo_activities.activity_id,
        'marketo' as activity_source,
        {{ lead_scoring.marketo_event_type(
            'marketo_activities.activity_type_id', 'marketo_activity_types.event_type'
        ) }} as event_type,
        marketo_activities.primary_attribute_value as url,
        marketo_activities.occurred_at,
        identities_matched.person_id,
        identities_matched.matched_by,
        identities_matched.person_key
    from marketo_activities
    inner join identities_matched
        on marketo_activities.marketo_lead_id = identities_matched.marketo_lead_id
    left join marketo_activity_types
        on marketo_activities.activity_type_id = marketo_activity_types.activity_type_id
    where marketo_activities.occurred_at <= {{ lead_scoring.as_of() }}

),

events_matched as (

    select
        event_id as activity_id,
        'events' as activity_source,
        event_type,
        url,
        occurred_at,
        person_id,
        matched_by,
        person_key
    from identities_matched
    where event_id is not null

),

final as (

    select * from marketo_matched
    union all
    select * from events_matched

)

select * from final
