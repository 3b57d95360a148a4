{#- Each activity of a merged person (and of the CRM record it matched, person_id) with the
    intent signal it counts for (the matching signal with the lowest priority number,
    seeds/intent_signals.csv) and its age at as_of. Expiry and
    caps are applied later (int_activities_decayed); sequences read every occurrence. -#}
with

activities as (

    select * from {{ ref('int_activities_matched_to_people') }}

),

intent_signals as (

    select * from {{ ref('intent_signals') }}

),

signal_matches as (

    select
        activities.person_key,
        activities.person_id,
        activities.activity_id,
        activities.occurred_at,
        intent_signals.signal_id,
        row_number() over (
            partition by activities.person_key, activities.activity_id
            order by intent_signals.priority, intent_signals.signal_id
        ) as signal_rank
    from activities
    inner join intent_signals
        on activities.event_type = intent_signals.event_type
        and (
            intent_signals.url_pattern is null
            or lower(activities.url) like intent_signals.url_pattern
        )

),

final as (

    select
        person_key,
        person_id,
        activity_id,
        signal_id,
        occurred_at,
        {{ lead_scoring.age_in_days('occurred_at', lead_scoring.as_of()) }} as age_days
    from signal_matches
    where signal_rank = 1

)

select * from final
