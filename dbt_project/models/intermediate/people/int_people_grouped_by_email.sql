{#- Duplicate people: CRM records (Leads and Contacts) with the same normalised e-mail are one
    person for scoring. One row per CRM record with its person_key: the crm_id of the group's
    survivor (a Contact before a Lead, an open Lead before a converted one, then the oldest
    record). A record without e-mail, or with an e-mail nobody else has, is its own person.
    Reads int_people_unified (the same records; titles play no part here), so it does not wait
    for the title classification: it is on the path to every activity-matching step. -#}
with

people as (

    select * from {{ ref('int_people_unified') }}

),

keyed as (

    select
        person_id,
        coalesce(email, person_id) as group_value,
        crm_object,
        is_converted,
        created_at
    from people

),

ranked as (

    select
        person_id,
        group_value,
        row_number() over (
            partition by group_value
            order by
                case when crm_object = 'Contact' then 0 else 1 end,
                case when is_converted then 1 else 0 end,
                created_at,
                person_id
        ) as survivor_rank,
        count(*) over (partition by group_value) as duplicate_count
    from keyed

),

survivors as (

    select
        group_value,
        person_id as person_key
    from ranked
    where survivor_rank = 1

),

duplicate_groups as (

    select
        group_value,
        {{ lead_scoring.ordered_listagg('person_id', '|', lead_scoring.binary_sort_key('person_id')) }}
            as duplicate_group
    from ranked
    where duplicate_count > 1
    group by group_value

),

final as (

    select
        -- ids
        ranked.person_id,
        survivors.person_key,

        -- strings
        duplicate_groups.duplicate_group,

        -- numerics
        ranked.survivor_rank,
        ranked.duplicate_count,

        -- booleans
        ranked.survivor_rank = 1 as is_survivor

    from ranked
    inner join survivors
        on ranked.group_value = survivors.group_value
    left join duplicate_groups
        on ranked.group_value = duplicate_groups.group_value

)

select * from final
