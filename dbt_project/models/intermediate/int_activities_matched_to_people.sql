{#- Activities attributed to CRM people: by CRM id first, then by e-mail (an e-mail shared
    by several CRM records credits each of them). Unmatched activities stay in
    int_activities_unioned and are matched on a later run once the person exists. -#}
with

activities as (

    select * from {{ ref('int_activities_unioned') }}

),

people as (

    select * from {{ ref('int_people_unified') }}

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

final as (

    select * from matched_by_crm_id
    union all
    select * from matched_by_email

)

select * from final
