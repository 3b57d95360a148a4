{#- Activities attributed to CRM people: by CRM id first, then by e-mail. Each activity counts
    once per merged person (person_key, see int_people_grouped_by_email): person_id is the CRM
    record it matched. Unmatched activities stay in int_activities_unioned and are matched on
    a later run once the person exists.

    One row per activity, without a window over activities: a CRM id names at most one record
    (person_id is unique); an activity whose CRM id names nobody is matched by e-mail; all
    records with one e-mail are one merged person, so an e-mail match goes to the group's
    lowest person_id (people_by_email, one row per e-mail). Activity ids are unique per
    source (staging tests); a Marketo id equal to a JSONL event id for the same person fails
    the (person_key, activity_id) test instead of one of the two being dropped.

    The activity's own CRM id and e-mail are not carried: nothing downstream reads them
    (person_id and person_key say who it is), and they were a third of the time spent
    writing this table (2M rows at scale M). int_activities_unioned still has them. -#}
with

activities as (

    select * from {{ ref('int_activities_unioned') }}

),

people as (

    select * from {{ ref('int_people_unified') }}

),

grouped as (

    select * from {{ ref('int_people_grouped_by_email') }}

),

people_by_email as (

    select
        email,
        min(person_id) as person_id
    from people
    where email is not null
    group by email

),

attributed as (

    -- one pass: the CRM record the activity's CRM id names, else its e-mail's record
    select
        activities.*,
        coalesce(people_by_crm_id.person_id, people_by_email.person_id) as person_id,
        case when people_by_crm_id.person_id is not null then 'crm_id' else 'email' end as matched_by
    from activities
    left join people as people_by_crm_id
        on activities.crm_id = people_by_crm_id.person_id
    left join people_by_email
        on activities.email = people_by_email.email
    where people_by_crm_id.person_id is not null or people_by_email.person_id is not null

),

final as (

    select
        attributed.activity_id,
        attributed.activity_source,
        attributed.event_type,
        attributed.url,
        attributed.occurred_at,
        attributed.person_id,
        attributed.matched_by,
        grouped.person_key
    from attributed
    inner join grouped
        on attributed.person_id = grouped.person_id

)

select * from final
