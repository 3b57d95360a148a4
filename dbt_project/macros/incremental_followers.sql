{#- The models that follow the incremental activity match (docs/incremental.md):
    int_activities_signalled (each matched activity's intent signal) and int_activities_capped
    (per person, signal and cap window the max_occurrences most recent unexpired activities).
    Neither depends on as_of beyond expiry, which only removes more rows as as_of moves on,
    so a build after an earlier one works on what the match wrote in its latest build (the
    rows whose match_build_number is that build's) and what it removed (its
    __state_unmatched); the capped model also deletes the rows that expired since.

      <model>__state   the build's as_of, a hash of the seeds/intent_signals columns the
                       classification and the caps read, the match build it followed
                       (followed_build_number) and whether it was incremental

    activity_follower_mode decides, when the model runs:
      full         no table yet or --full-refresh: dbt creates it (a plain table on Spark)
      incremental  the table and its state exist, the match's latest build was incremental
                   and is the one after the build this model last followed, as_of did not
                   go back and the intent signals are unchanged
      rebuild      otherwise (a backdated run, a match build this model missed, an edited
                   seed): every row is deleted (pre-hook) and the full result inserted -#}

{#- The post-hooks of a follower: each step of activity_follower_save_state, in order. -#}
{% macro activity_follower_hooks(steps) -%}
    {%- set hooks = [] -%}
    {%- for step in steps -%}
        {%- do hooks.append(
            "{{ lead_scoring.activity_follower_save_state(this, '" ~ step
            ~ "', ref('int_activities_matched_to_people'), ref('intent_signals')) }}"
        ) -%}
    {%- endfor -%}
    {{ return(hooks) }}
{%- endmacro %}

{#- The number of the match's latest build (a scalar subquery on its state). -#}
{% macro activity_follower_match_build(matched) -%}
    (select max(build_number) from {{ lead_scoring.activity_match_state_relation(matched, 'batches') }})
{%- endmacro %}

{#- The rows the match wrote in its latest build (a condition on its rows). -#}
{% macro activity_follower_written(matched) -%}
    match_build_number = {{ lead_scoring.activity_follower_match_build(matched) }}
{%- endmacro %}

{% macro activity_follower_state_relation(relation) -%}
    {{ return(api.Relation.create(
        database=relation.database, schema=relation.schema,
        identifier=relation.identifier ~ '__state', type='table',
    )) }}
{%- endmacro %}

{% macro activity_follower_signals_hash(intent_signals) -%}
    {{ lead_scoring.seed_content_hash(intent_signals, [
        'signal_id', 'event_type', 'url_pattern', 'priority', 'max_occurrences', 'cap_window_days', 'expiry_days',
    ]) }}
{%- endmacro %}

{% macro activity_follower_mode(relation, matched, intent_signals) -%}
    {%- if not execute or relation is none or not is_incremental() -%}
        {{ return('full') }}
    {%- endif -%}
    {%- set state = lead_scoring.activity_follower_state_relation(relation) -%}
    {%- set match_state = lead_scoring.activity_match_state_relation(matched, 'batches') -%}
    {%- set unmatched = lead_scoring.activity_match_state_relation(matched, 'unmatched') -%}
    {%- for table in [state, match_state, unmatched] -%}
        {%- if adapter.get_relation(database=table.database, schema=table.schema, identifier=table.identifier) is none -%}
            {{ return('rebuild') }}
        {%- endif -%}
    {%- endfor -%}
    {%- if 'build_number' not in adapter.get_columns_in_relation(match_state) | map(attribute='name') | map('lower') | list
        or 'followed_build_number' not in adapter.get_columns_in_relation(state) | map(attribute='name') | map('lower') | list -%}
        {{ return('rebuild') }}
    {%- endif -%}
    {%- set check -%}
        select count(*)
        from {{ state }} as state
        cross join (
            select
                max(build_number) as build_number,
                max(case when is_incremental_build then 1 else 0 end) as is_incremental_build
            from {{ match_state }}
        ) as matched
        where matched.is_incremental_build = 1
            and matched.build_number = state.followed_build_number + 1
            and state.as_of <= {{ lead_scoring.as_of() }}
            and state.signals_hash = {{ lead_scoring.activity_follower_signals_hash(intent_signals) }}
    {%- endset -%}
    {%- set result = run_query(check) -%}
    {{ return('incremental' if result.columns[0].values()[0] | int == 1 else 'rebuild') }}
{%- endmacro %}

{#- pre-hook: a rebuild starts from an empty table. -#}
{% macro activity_follower_clear(relation, matched, intent_signals) -%}
    {%- if lead_scoring.activity_match_is_incremental_engine()
        and lead_scoring.activity_follower_mode(relation, matched, intent_signals) == 'rebuild' -%}
        delete from {{ relation }}
    {%- else -%}
        select 1 as nothing_to_clear
    {%- endif -%}
{%- endmacro %}

{#- post-hooks, one statement each: the placeholder rows go (rows without a signal: they made
    delete+insert remove earlier rows), then (the capped model) the rows that expired since
    the last build; then the state is replaced (written under another name first, while the
    state the mode is decided from is still there). -#}
{% macro activity_follower_save_state(relation, step, matched, intent_signals) -%}
    {%- set state = lead_scoring.activity_follower_state_relation(relation) -%}
    {%- set state_next = api.Relation.create(
        database=state.database, schema=state.schema, identifier=state.identifier ~ '_next', type='table',
    ) -%}
    {%- if not lead_scoring.activity_match_is_incremental_engine() -%}
        select 1 as no_state_kept
    {%- elif step == 'drop_placeholders' -%}
        delete from {{ relation }} where signal_id is null
    {%- elif step == 'drop_expired' -%}
        delete from {{ relation }}
        where exists (
            select 1
            from {{ intent_signals }} as intent_signals
            where intent_signals.signal_id = {{ relation }}.signal_id
                and {{ lead_scoring.age_in_days(relation ~ '.occurred_at', lead_scoring.as_of()) }}
                > intent_signals.expiry_days
        )
    {%- elif step == 'drop_next' -%}
        drop table if exists {{ state_next }}
    {%- elif step == 'create_next' -%}
        create table {{ state_next }} as
        select
            {{ lead_scoring.as_of() }} as as_of,
            {{ lead_scoring.activity_follower_signals_hash(intent_signals) }} as signals_hash,
            {{ lead_scoring.activity_follower_match_build(matched) }} as followed_build_number,
            {{ 'true' if lead_scoring.activity_follower_mode(relation, matched, intent_signals) == 'incremental' else 'false' }}
                as is_incremental_build
    {%- elif step == 'drop_state' -%}
        drop table if exists {{ state }}
    {%- else -%}
        alter table {{ state_next }} rename to {{ state.identifier }}
    {%- endif -%}
{%- endmacro %}
