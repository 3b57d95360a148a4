{#- Each activity of a merged person (and of the CRM record it matched, person_id) with the
    intent signal it counts for: the matching signal with the lowest priority number
    (seeds/intent_signals.csv). Activities no signal matches are not here.
    int_activities_classified adds their age at as_of.

    The signal depends only on the activity's event type and URL, so it is chosen once per
    distinct (event_type, lower(url)) kind (a few hundred) and joined back, not ranked per
    activity (millions). url_key is lower(url) prefixed with 'u', or 'n' when there is no
    URL, so that a missing URL and an empty one stay apart in the join.

    Incremental on DuckDB and Postgres (macros/incremental_followers.sql,
    docs/incremental.md): a build after an earlier one classifies the rows the activity match
    wrote in its latest build (match_build_number) and deletes the ones it removed. -#}
{%- set matched = ref('int_activities_matched_to_people') -%}
{{ config(
    materialized='incremental' if lead_scoring.activity_match_is_incremental_engine() else 'table',
    incremental_strategy='delete+insert',
    unique_key=['activity_source', 'activity_id'],
    pre_hook="{{ lead_scoring.activity_follower_clear(this, ref('int_activities_matched_to_people'), ref('intent_signals')) }}",
    post_hook=lead_scoring.activity_follower_hooks(['drop_placeholders', 'drop_next', 'create_next', 'drop_state', 'rename_state']),
) }}
{%- set mode = lead_scoring.activity_follower_mode(this, matched, ref('intent_signals')) %}
with

activities as (

    select * from {{ matched }}
    {%- if mode == 'incremental' %}
    -- the rows the match wrote in its latest build
    where {{ lead_scoring.activity_follower_written(matched) }}
    {%- endif %}

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
        keyed_activities.occurred_at
    from keyed_activities
    inner join best_signals
        on keyed_activities.event_type = best_signals.event_type
        and keyed_activities.url_key = best_signals.url_key
    {%- if mode == 'incremental' %}

    union all

    -- one row without a signal per activity the match removed: delete+insert removes its
    -- earlier row, then the post-hook removes this one
    select
        cast(null as {{ dbt.type_string() }}) as person_key,
        cast(null as {{ dbt.type_string() }}) as person_id,
        unmatched.activity_source,
        unmatched.activity_id,
        cast(null as {{ dbt.type_string() }}) as signal_id,
        cast(null as {{ dbt.type_timestamp() }}) as occurred_at
    from {{ lead_scoring.activity_match_state_relation(matched, 'unmatched') }} as unmatched
    {%- endif %}

)

select * from final
