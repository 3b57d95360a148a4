{#- Activities attributed to CRM people: by CRM id first, then by e-mail. Each activity counts
    once per merged person (person_key, see int_people_grouped_by_email): person_id is the CRM
    record it matched. Unmatched activities are not here (int_activities_unioned lists every
    activity) and are matched on a later run once the person exists.

    A CRM id names at most one record (person_id is unique); an identity whose CRM id names
    nobody is matched by e-mail; all records with one e-mail are one merged person, so an
    e-mail match goes to the group's lowest person_id (people_by_email, one row per e-mail).
    Activity ids are unique per source (staging tests); a Marketo id equal to a JSONL event id
    for the same person fails the (person_key, activity_id) test.

    The match is made once per identity, not once per activity: a Marketo activity names its
    Marketo lead, whose CRM ids and e-mail are in stg_map__marketo_leads, so each Marketo lead
    is matched once and its activities join it on the integer lead id; a JSONL event carries
    its own CRM id and e-mail and is its own identity. The two string lookups (CRM id, e-mail)
    run per identity, never per activity.
    The activity's own CRM id and e-mail are not carried: nothing downstream reads them.
    match_build_number is the number of the build that wrote the row (one more each build):
    the models that follow the match (int_activities_signalled, int_activities_capped) redo
    the rows of its latest build.

    Incremental on DuckDB and Postgres (macros/incremental_activities.sql, docs/incremental.md):
    a build after an earlier one re-matches only the candidates (activities new since its
    batches or its as_of, and every activity of an identity whose match may have changed: a
    record added, removed, merged or with a new e-mail, a Marketo lead with new CRM ids or
    e-mail); the rows equal a full build at the same as_of. A backdated build, an edited
    activity types seed or an erasure rebuilds. -#}
{%- set state_args = [
    "ref('int_people_unified')", "ref('int_people_grouped_by_email')", "ref('stg_map__marketo_leads')",
    "ref('marketo_activity_types')", "source('map', 'marketo_activities')", "source('map', 'events')",
] -%}
{%- set save_state = [] -%}
{%- for step in [
    'drop:unmatched', 'create:unmatched', 'drop_unmatched', 'drop:batches_next', 'create:batches_next',
    'drop:people', 'create:people', 'drop:marketo_leads', 'create:marketo_leads', 'drop:batches', 'rename:batches',
] -%}
    {%- do save_state.append(
        "{{ lead_scoring.activity_match_save_state(this, '" ~ step ~ "', " ~ state_args | join(', ') ~ ") }}"
    ) -%}
{%- endfor -%}
{{ config(
    materialized='incremental' if lead_scoring.activity_match_is_incremental_engine() else 'table',
    incremental_strategy='delete+insert',
    unique_key=['activity_source', 'activity_id'],
    on_schema_change='append_new_columns',
    pre_hook="{{ lead_scoring.activity_match_clear(this, ref('marketo_activity_types')) }}",
    post_hook=save_state,
) }}
{%- set mode = lead_scoring.activity_match_mode(this, ref('marketo_activity_types')) %}
{%- set build_number = lead_scoring.activity_match_build_number(this) %}
with
{%- if mode != 'incremental' %}

marketo_activities as (

    select * from {{ ref('stg_map__marketo_activities') }}

),
{%- endif %}

marketo_leads as (

    select * from {{ ref('stg_map__marketo_leads') }}

),

marketo_activity_types as (

    select * from {{ ref('marketo_activity_types') }}

),

{%- if mode != 'incremental' %}

events as (

    select * from {{ ref('stg_map__events') }}

),
{%- endif %}

people as (

    select * from {{ ref('int_people_unified') }}

),

grouped as (

    select * from {{ ref('int_people_grouped_by_email') }}

),

people_keyed as (

    select
        people.person_id,
        people.email,
        grouped.person_key
    from people
    inner join grouped
        on people.person_id = grouped.person_id

),

first_record_by_email as (

    select
        email,
        min(person_id) as person_id
    from people
    where email is not null
    group by email

),

people_by_email as (

    select
        first_record_by_email.email,
        people_keyed.person_id,
        people_keyed.person_key
    from first_record_by_email
    inner join people_keyed
        on first_record_by_email.person_id = people_keyed.person_id

),

{%- if mode == 'incremental' %}

previous_people as (

    select * from {{ lead_scoring.activity_match_state_relation(this, 'people') }}

),

previous_marketo_leads as (

    select * from {{ lead_scoring.activity_match_state_relation(this, 'marketo_leads') }}

),

seen_batches as (

    select * from {{ lead_scoring.activity_match_state_relation(this, 'batches') }}

),

watermark as (

    select max(as_of) as previous_as_of
    from seen_batches

),

people_changed as (

    -- records added, removed, or whose e-mail or merged person changed since the last build
    select
        coalesce(people_keyed.person_id, previous_people.person_id) as person_id,
        people_keyed.email,
        previous_people.email as previous_email
    from people_keyed
    full outer join previous_people
        on people_keyed.person_id = previous_people.person_id
    where people_keyed.person_id is null
        or previous_people.person_id is null
        or coalesce(people_keyed.email, '') <> coalesce(previous_people.email, '')
        or people_keyed.person_key <> previous_people.person_key

),

emails_changed as (

    select email from people_changed
    where email is not null
    union
    select previous_email as email from people_changed
    where previous_email is not null

),

records_changed as (

    -- the changed records and every record sharing an e-mail with one (their group and the
    -- e-mail's first record may have moved)
    select person_id from people_changed
    union
    select people_keyed.person_id
    from people_keyed
    inner join emails_changed
        on people_keyed.email = emails_changed.email

),

marketo_leads_changed as (

    select coalesce(marketo_leads.marketo_lead_id, previous_marketo_leads.marketo_lead_id) as marketo_lead_id
    from marketo_leads
    full outer join previous_marketo_leads
        on marketo_leads.marketo_lead_id = previous_marketo_leads.marketo_lead_id
    where marketo_leads.marketo_lead_id is null
        or previous_marketo_leads.marketo_lead_id is null
        or coalesce(previous_marketo_leads.crm_id, '')
        <> coalesce(marketo_leads.crm_contact_id, marketo_leads.crm_lead_id, '')
        or coalesce(marketo_leads.email, '') <> coalesce(previous_marketo_leads.email, '')
    union
    select marketo_leads.marketo_lead_id
    from marketo_leads
    left join records_changed
        on coalesce(marketo_leads.crm_contact_id, marketo_leads.crm_lead_id) = records_changed.person_id
    left join emails_changed
        on marketo_leads.email = emails_changed.email
    where records_changed.person_id is not null or emails_changed.email is not null

),

{#- A candidate is an activity whose newest copy passes its source's rules: a Marketo
    activity of a changed Marketo lead, from a batch the last build did not see, or that
    became due since its as_of; an event the same, its identity being its own CRM id and
    e-mail. Any copy passing them names the activity (<source>_candidate_ids), so the newest
    copies are ranked among the named activities' copies only (not the whole raw table, as
    the staging views do), then filtered again (<source>_candidates): the same rows as
    filtering the staging view, read with a hash join instead of a sort. #}
{%- set marketo_candidate_filter %}
    cross join watermark
    left join marketo_leads_changed
        on copies.marketo_lead_id = marketo_leads_changed.marketo_lead_id
    left join seen_batches
        on copies.batch_id = seen_batches.batch_id
    where copies.occurred_at <= {{ lead_scoring.as_of() }}
        and (
            marketo_leads_changed.marketo_lead_id is not null
            or seen_batches.batch_id is null
            or copies.occurred_at > watermark.previous_as_of
        )
{%- endset %}
{%- set event_candidate_filter %}
    cross join watermark
    left join records_changed
        on copies.crm_id = records_changed.person_id
    left join emails_changed
        on copies.email = emails_changed.email
    left join seen_batches
        on copies.batch_id = seen_batches.batch_id
    where copies.occurred_at <= {{ lead_scoring.as_of() }}
        and (
            records_changed.person_id is not null
            or emails_changed.email is not null
            or seen_batches.batch_id is null
            or copies.occurred_at > watermark.previous_as_of
        )
{%- endset %}
{%- for name, copies, candidate_filter in [
    ('marketo', lead_scoring.stg_map_marketo_activities_columns(source('map', 'marketo_activities')), marketo_candidate_filter),
    ('event', lead_scoring.stg_map_events_columns(source('map', 'events')), event_candidate_filter),
] %}

{{ name }}_candidate_ids as (

    select distinct copies.activity_id
    from ({{ copies }}) as copies
    {{ candidate_filter }}

),

{{ name }}_candidates as (

    select copies.*
    from ({{ lead_scoring.map_newest_copies(
        'select all_copies.* from (' ~ copies ~ ') as all_copies inner join ' ~ name ~ '_candidate_ids'
        ~ ' on all_copies.activity_id = ' ~ name ~ '_candidate_ids.activity_id'
    ) }}) as copies
    {{ candidate_filter }}

),
{%- endfor %}
{%- set marketo_rows, event_rows = 'marketo_candidates', 'event_candidates' %}
{%- else %}
{%- set marketo_rows, event_rows = 'marketo_activities', 'events' %}
{%- endif %}

identities as (

    -- one row per Marketo lead (its activities join it below) and one per JSONL event up
    -- to as_of (which carries the event's own fields along)
    select
        marketo_lead_id,
        coalesce(crm_contact_id, crm_lead_id) as crm_id,
        email,
        cast(null as {{ dbt.type_string() }}) as event_id,
        cast(null as {{ dbt.type_string() }}) as event_type,
        cast(null as {{ dbt.type_string() }}) as url,
        cast(null as {{ dbt.type_timestamp() }}) as occurred_at
    from marketo_leads

    union all

    select
        cast(null as {{ dbt.type_bigint() }}) as marketo_lead_id,
        crm_id,
        email,
        activity_id as event_id,
        event_type,
        url,
        occurred_at
    from {{ event_rows }}
    where occurred_at <= {{ lead_scoring.as_of() }}

),

identities_matched as (

    -- the CRM record the identity's CRM id names, else its e-mail's record (an incremental
    -- build keeps the unmatched candidates: their rows replace an earlier match, then the
    -- post-hook deletes them)
    select
        identities.*,
        coalesce(people_by_crm_id.person_id, people_by_email.person_id) as person_id,
        case when people_by_crm_id.person_id is not null then 'crm_id' else 'email' end as matched_by,
        coalesce(people_by_crm_id.person_key, people_by_email.person_key) as person_key
    from identities
    left join people_keyed as people_by_crm_id
        on identities.crm_id = people_by_crm_id.person_id
    left join people_by_email
        on identities.email = people_by_email.email
    {%- if mode != 'incremental' %}
    where people_by_crm_id.person_id is not null or people_by_email.person_id is not null
    {%- endif %}

),

marketo_matched as (

    select
        {{ marketo_rows }}.activity_id,
        'marketo' as activity_source,
        {{ lead_scoring.marketo_event_type(
            marketo_rows ~ '.activity_type_id', 'marketo_activity_types.event_type'
        ) }} as event_type,
        {{ marketo_rows }}.primary_attribute_value as url,
        {{ marketo_rows }}.occurred_at,
        identities_matched.person_id,
        identities_matched.matched_by,
        identities_matched.person_key,
        {{ build_number }} as match_build_number
    from {{ marketo_rows }}
    inner join identities_matched
        on {{ marketo_rows }}.marketo_lead_id = identities_matched.marketo_lead_id
    left join marketo_activity_types
        on {{ marketo_rows }}.activity_type_id = marketo_activity_types.activity_type_id
    where {{ marketo_rows }}.occurred_at <= {{ lead_scoring.as_of() }}

),

events_matched as (

    select
        event_id as activity_id,
        'events' as activity_source,
        event_type,
        url,
        occurred_at,
        person_id,
        matched_by,
        person_key,
        {{ build_number }} as match_build_number
    from identities_matched
    where event_id is not null

),
{%- if mode == 'incremental' %}

marketo_unidentified as (

    -- candidates whose Marketo lead is unknown: a row without a person replaces any earlier
    select
        marketo_candidates.activity_id,
        'marketo' as activity_source,
        cast(null as {{ dbt.type_string() }}) as event_type,
        cast(null as {{ dbt.type_string() }}) as url,
        cast(null as {{ dbt.type_timestamp() }}) as occurred_at,
        cast(null as {{ dbt.type_string() }}) as person_id,
        cast(null as {{ dbt.type_string() }}) as matched_by,
        cast(null as {{ dbt.type_string() }}) as person_key,
        {{ build_number }} as match_build_number
    from marketo_candidates
    left join marketo_matched
        on marketo_candidates.activity_id = marketo_matched.activity_id
    where marketo_matched.activity_id is null

),
{%- endif %}

final as (

    select * from marketo_matched
    union all
    select * from events_matched
    {%- if mode == 'incremental' %}
    union all
    select * from marketo_unidentified
    {%- endif %}

)

select * from final
