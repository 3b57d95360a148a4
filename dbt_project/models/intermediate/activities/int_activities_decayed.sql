{#- Each scored activity with its signal and decayed points as of var('as_of'):
    points * 0.5 ^ (age_days / half_life_days), nothing past expiry_days, and a frequency cap:
    only the max_occurrences most recent occurrences per person, signal and cap window count.
    Cap windows are fixed cap_window_days-long periods counted from 1970-01-01 UTC (stable from
    run to run); no cap_window_days = one window, i.e. max_occurrences in all. -#}
with

activities as (

    select * from {{ ref('int_activities_classified') }}

),

intent_signals as (

    select * from {{ ref('intent_signals') }}

),

windowed as (

    select
        activities.person_key,
        activities.activity_id,
        activities.signal_id,
        activities.occurred_at,
        activities.age_days,
        intent_signals.label,
        intent_signals.points,
        intent_signals.half_life_days,
        intent_signals.max_occurrences,
        cast(coalesce(
            floor(
                {{ lead_scoring.epoch_seconds('activities.occurred_at') }}
                / (intent_signals.cap_window_days * 86400)
            ),
            0
        ) as {{ dbt.type_bigint() }}) as cap_window_number
    from activities
    inner join intent_signals
        on activities.signal_id = intent_signals.signal_id
    where activities.age_days <= intent_signals.expiry_days

),

ranked as (

    select
        *,
        row_number() over (
            partition by person_key, signal_id, cap_window_number
            order by occurred_at desc, activity_id asc
        ) as recency_rank
    from windowed

),

final as (

    select
        person_key,
        activity_id,
        signal_id,
        label,
        points as base_points,
        half_life_days,
        age_days,
        points * power(0.5, age_days / half_life_days) as decayed_points,
        cap_window_number,
        occurred_at
    from ranked
    where recency_rank <= max_occurrences

)

select * from final
