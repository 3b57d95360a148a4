{#- Each activity that counts for intent (int_activities_capped: the frequency cap and
    expiry applied) with its signal and decayed points as of var('as_of'):
    points * 0.5 ^ (age_days / half_life_days). -#}
with

activities as (

    select * from {{ ref('int_activities_capped') }}

),

intent_signals as (

    select * from {{ ref('intent_signals') }}

),

aged as (

    select
        activities.person_key,
        activities.activity_id,
        activities.signal_id,
        activities.occurred_at,
        activities.cap_window_number,
        {{ lead_scoring.age_in_days('activities.occurred_at', lead_scoring.as_of()) }} as age_days,
        intent_signals.label,
        intent_signals.points,
        intent_signals.half_life_days,
        intent_signals.expiry_days
    from activities
    inner join intent_signals
        on activities.signal_id = intent_signals.signal_id

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
    from aged
    where age_days <= expiry_days

)

select * from final
