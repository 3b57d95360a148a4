{#- Every classified activity with the person it counts for in the win analysis: a converted
    Lead's activities are matched to the Contact it became (on the demo, all of its
    Marketo-only ones: e-mail, webinar, event), but the outcome stays on the Lead and that
    Contact is left out of the population, so they are credited back to the Lead; otherwise
    those signals would look like signals of not converting. -#}
with

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
        coalesce(converted_contacts.lead_id, activities_classified.person_id) as person_id,
        activities_classified.signal_id,
        activities_classified.occurred_at
    from activities_classified
    left join converted_contacts
        on activities_classified.person_id = converted_contacts.contact_id

)

select * from final
