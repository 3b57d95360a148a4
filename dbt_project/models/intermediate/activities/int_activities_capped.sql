{#- The activities that count for intent as of var('as_of'): per merged person, signal and
    cap window, the max_occurrences most recent occurrences (ties on occurred_at broken by
    activity_id) that have not expired (age_days <= expiry_days). Cap windows are fixed
    cap_window_days-long periods counted from 1970-01-01 UTC (stable from run to run); no
    cap_window_days = one window, i.e. max_occurrences in all. int_activities_decayed decays
    these rows.

    Expiry removes the oldest occurrences of a window first and the cap keeps the most
    recent, so the rows only change for a person whose activities changed, and by expiry
    as as_of moves on. Incremental on DuckDB and Postgres (macros/incremental_followers.sql,
    docs/incremental.md): a build after an earlier one re-ranks the people the activity
    match wrote rows for in this build (match_build_number) and the people whose kept rows
    it re-matched or removed, then deletes the rows that expired since; the rows equal a full
    build at the same as_of. -#}
{%- set matched = ref('int_activities_matched_to_people') -%}
{{ config(
    materialized='incremental' if lead_scoring.activity_match_is_incremental_engine() else 'table',
    incremental_strategy='delete+insert',
    unique_key=['person_key'],
    pre_hook="{{ lead_scoring.activity_follower_clear(this, ref('int_activities_matched_to_people'), ref('intent_signals')) }}",
    post_hook=lead_scoring.activity_follower_hooks([
        'drop_placeholders', 'drop_expired', 'drop_next', 'create_next', 'drop_state', 'rename_state',
    ]),
) }}
{%- set mode = lead_scoring.activity_follower_mode(this, matched, ref('intent_signals')) %}
with

activities as (

    select * from {{ ref('int_activities_classified') }}

),

intent_signals as (

    select * from {{ ref('intent_signals') }}

),
{%- if mode == 'incremental' %}

matched as (

    select * from {{ matched }}

),

kept as (

    select * from {{ this }}

),

written as (

    -- the rows the match wrote in its latest build
    select * from matched
    where {{ lead_scoring.activity_follower_written(matched) }}

),

unmatched as (

    select * from {{ lead_scoring.activity_match_state_relation(matched, 'unmatched') }}

),

changed_activities as (

    -- the activities the match wrote or removed in this build
    select
        activity_source,
        activity_id
    from written
    union all
    select
        activity_source,
        activity_id
    from unmatched

),

touched_people as (

    -- the people the match wrote rows for in this build, and the people of the kept rows
    -- it re-matched (perhaps to another person) or removed (matched nobody any more)
    select person_key from written
    union
    select kept.person_key
    from kept
    inner join changed_activities
        on kept.activity_source = changed_activities.activity_source
        and kept.activity_id = changed_activities.activity_id

),

scoped_activities as (

    select activities.*
    from activities
    inner join touched_people
        on activities.person_key = touched_people.person_key

),
{%- set activity_rows = 'scoped_activities' %}
{%- else %}
{%- set activity_rows = 'activities' %}
{%- endif %}

windowed as (

    select
        {{ activity_rows }}.person_key,
        {{ activity_rows }}.activity_source,
        {{ activity_rows }}.activity_id,
        {{ activity_rows }}.signal_id,
        {{ activity_rows }}.occurred_at,
        intent_signals.max_occurrences,
        cast(coalesce(
            floor(
                {{ lead_scoring.epoch_seconds(activity_rows ~ '.occurred_at') }}
                / (intent_signals.cap_window_days * 86400)
            ),
            0
        ) as {{ dbt.type_bigint() }}) as cap_window_number
    from {{ activity_rows }}
    inner join intent_signals
        on {{ activity_rows }}.signal_id = intent_signals.signal_id
    where {{ activity_rows }}.age_days <= intent_signals.expiry_days

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

capped as (

    select
        person_key,
        activity_source,
        activity_id,
        signal_id,
        occurred_at,
        cap_window_number
    from ranked
    where recency_rank <= max_occurrences

),

final as (

    select * from capped
    {%- if mode == 'incremental' %}
    union all
    -- one row without a signal per touched person: delete+insert removes the person's
    -- earlier rows, then the post-hook removes this one
    select
        person_key,
        cast(null as {{ dbt.type_string() }}) as activity_source,
        cast(null as {{ dbt.type_string() }}) as activity_id,
        cast(null as {{ dbt.type_string() }}) as signal_id,
        cast(null as {{ dbt.type_timestamp() }}) as occurred_at,
        cast(null as {{ dbt.type_bigint() }}) as cap_window_number
    from touched_people
    {%- endif %}

)

select * from final
