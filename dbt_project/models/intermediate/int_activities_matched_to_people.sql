{#- Activities attributed to CRM people: by CRM id first, then by e-mail. Each activity counts
    once per merged person (person_key, see int_people_grouped_by_email): person_id is the CRM
    record it matched. Unmatched activities stay in int_activities_unioned and are matched on
    a later run once the person exists. -#}
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

matched_by_crm_id as (

    select
        activities.*,
        people.person_id,
        'crm_id' as matched_by
    from activities
    inner join people
        on activities.crm_id = people.person_id

),

without_crm_match as (

    select activities.*
    from activities
    left join people
        on activities.crm_id = people.person_id
    where people.person_id is null

),

matched_by_email as (

    select
        without_crm_match.*,
        people.person_id,
        'email' as matched_by
    from without_crm_match
    inner join people
        on without_crm_match.email = people.email

),

unioned as (

    select * from matched_by_crm_id
    union all
    select * from matched_by_email

),

keyed as (

    select
        unioned.*,
        grouped.person_key,
        row_number() over (
            partition by grouped.person_key, unioned.activity_id
            order by case when unioned.matched_by = 'crm_id' then 0 else 1 end, unioned.person_id
        ) as copy_rank
    from unioned
    inner join grouped
        on unioned.person_id = grouped.person_id

),

final as (

    select
        activity_id,
        activity_source,
        crm_id,
        email,
        event_type,
        url,
        occurred_at,
        person_id,
        matched_by,
        person_key
    from keyed
    where copy_rank = 1

)

select * from final
