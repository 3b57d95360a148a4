{#- Each activity of a merged person (and of the CRM record it matched, person_id) with the
    intent signal it counts for (the matching signal with the lowest priority number,
    seeds/intent_signals.csv) and its age at as_of. Caps and expiry are applied later
    (int_activities_capped, int_activities_decayed); sequences read every occurrence.

    The signal depends only on the activity's event type and URL, so it is chosen once per
    distinct (event_type, lower(url)) kind (a few hundred) and joined back, not ranked per
    activity (millions). url_key is lower(url) prefixed with 'u', or 'n' when there is no
    URL, so that a missing URL and an empty one stay apart in the join. -#}
with

activities as (

    select * from {{ ref('int_activities_matched_to_people') }}

),

intent_signals as (

    select * from {{ ref('intent_signals') }}

),

keyed_activities as (

    select
        person_key,
        person_id,
        activity_source,
        activity_id,
        occurred_at,
        event_type,
        lower(url) as normalized_url,
        coalesce({{ dbt.concat(["'u'", "lower(url)"]) }}, 'n') as url_key
    from activities

),

activity_kinds as (

    select distinct
        event_type,
        normalized_url,
        url_key
    from keyed_activities

),

kind_signals as (

    select
        activity_kinds.event_type,
        activity_kinds.url_key,
        intent_signals.signal_id,
        row_number() over (
            partition by activity_kinds.event_type, activity_kinds.url_key
            order by intent_signals.priority, intent_signals.signal_id
        ) as signal_rank
    from activity_kinds
    inner join intent_signals
        on activity_kinds.event_type = intent_signals.event_type
        and (
            intent_signals.url_pattern is null
            or activity_kinds.normalized_url like intent_signals.url_pattern
        )

),

best_signals as (

    select
        event_type,
        url_key,
        signal_id
    from kind_signals
    where signal_rank = 1

),

final as (

    select
        keyed_activities.person_key,
        keyed_activities.person_id,
        keyed_activities.activity_source,
        keyed_activities.activity_id,
        best_signals.signal_id,
        keyed_activities.occurred_at,
        {{ lead_scoring.age_in_days('keyed_activities.occurred_at', lead_scoring.as_of()) }} as age_days
    from keyed_activities
    inner join best_signals
        on keyed_activities.event_type = best_signals.event_type
        and keyed_activities.url_key = best_signals.url_key

)

select * from final
