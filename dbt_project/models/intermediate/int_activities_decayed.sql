{#- Each scored activity with its signal and decayed points as of var('as_of'):
    points * 0.5 ^ (age_days / half_life_days), zero past expiry_days, and only the
    max_occurrences most recent occurrences per person and signal count (frequency cap). -#}
with

activities as (

    select * from {{ ref('int_activities_matched_to_people') }}

),

intent_signals as (

    select * from {{ ref('intent_signals') }}

),

signal_matches as (

    select
        activities.person_id,
        activities.activity_id,
        activities.occurred_at,
        intent_signals.signal_id,
        intent_signals.label,
        intent_signals.points,
        intent_signals.half_life_days,
        intent_signals.max_occurrences,
        intent_signals.expiry_days,
        row_number() over (
            partition by activities.person_id, activities.activity_id
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

aged as (

    select
        person_id,
        activity_id,
        signal_id,
        label,
        points,
        half_life_days,
        max_occurrences,
        expiry_days,
        occurred_at,
        {{ lead_scoring.age_in_days('occurred_at', lead_scoring.as_of()) }} as age_days
    from signal_matches
    where signal_rank = 1

),

ranked as (

    select
        *,
        row_number() over (
            partition by person_id, signal_id
            order by occurred_at desc, activity_id asc
        ) as recency_rank
    from aged
    where age_days <= expiry_days

),

final as (

    select
        person_id,
        activity_id,
        signal_id,
        label,
        points as base_points,
        half_life_days,
        age_days,
        points * power(0.5, age_days / half_life_days) as decayed_points,
        occurred_at
    from ranked
    where recency_rank <= max_occurrences

)

select * from final
