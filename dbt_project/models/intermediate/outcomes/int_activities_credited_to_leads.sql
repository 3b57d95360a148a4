{#- Every matched activity with the intent signal it counts for (null when no signal of
    seeds/intent_signals.csv covers its event type and URL) and the person it counts for in
    the win analysis: a converted
    Lead's activities are matched to the Contact it became (on the demo, all of its
    Marketo-only ones: e-mail, webinar, event), but the outcome stays on the Lead and that
    Contact is left out of the population, so they are credited back to the Lead; otherwise
    those signals would look like signals of not converting. -#}
with

activities as (

    select * from {{ ref('int_activities_matched_to_people') }}

),

activities_classified as (

    select * from {{ ref('int_activities_classified') }}

),

leads as (

    select * from {{ ref('stg_salesforce__leads') }}

),

converted_contacts as (

    select distinct
        converted_contact_id as contact_id,
        lead_id
    from leads
    where converted_contact_id is not null

),

final as (

    select
        coalesce(converted_contacts.lead_id, activities.person_id) as person_id,
        activities_classified.signal_id,
        activities.event_type,
        {{ dbt.split_part(dbt.split_part('lower(activities.url)', "'?'", 1), "'#'", 1) }} as url_without_query,
        activities.occurred_at
    from activities
    left join activities_classified
        on activities.person_key = activities_classified.person_key
        and activities.activity_id = activities_classified.activity_id
    left join converted_contacts
        on activities.person_id = converted_contacts.contact_id

)

select * from final
