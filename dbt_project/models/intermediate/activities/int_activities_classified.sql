{#- Each activity with an intent signal (int_activities_signalled) and its age at as_of.
    Caps and expiry are applied later (int_activities_capped, int_activities_decayed);
    sequences read every occurrence. A view: the signals are kept, the age moves every hour. -#}
with

activities as (

    select * from {{ ref('int_activities_signalled') }}

),

final as (

    select
        person_key,
        person_id,
        activity_source,
        activity_id,
        signal_id,
        occurred_at,
        {{ lead_scoring.age_in_days('occurred_at', lead_scoring.as_of()) }} as age_days
    from activities

)

select * from final
