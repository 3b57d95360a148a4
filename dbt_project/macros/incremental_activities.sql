{#- The incremental activity match (docs/incremental.md): int_activities_matched_to_people
    keeps the activities it matched, and each build re-matches only the candidates: activities
    that arrived or became due (occurred_at in (the last build's as_of, as_of]) and every
    activity of an identity whose match may have changed. Three state tables beside the model
    (one statement per hook, so every adapter runs them) hold what the last build saw:

      <model>__state_people         person_id, email, person_key of every scored record
      <model>__state_marketo_leads  marketo_lead_id, crm_id, email of every Marketo lead
      <model>__state_unmatched      the candidates of the last build that matched nobody (their
                                    rows were removed; the followers read it)
      <model>__state_batches        the MAP batches seen, with the build's as_of, a hash of
                                    seeds/marketo_activity_types, the rows erased so far,
                                    whether the build was incremental (is_incremental_build)
                                    and its number (build_number, one more each build; the
                                    rows it wrote carry it as match_build_number, which the
                                    models that follow the match read:
                                    macros/incremental_followers.sql)

    activity_match_mode decides, when the model runs:
      full         no table yet or --full-refresh: dbt creates it (and on engines without
                   delete+insert, Spark, the model is a plain table: always full)
      incremental  the table and its state exist, as_of is at or after the state's as_of,
                   the activity types seed and the erasures are unchanged
      rebuild      otherwise (a backdated run, a seed edit, an erasure, no state): every row
                   is deleted (pre-hook) and the full match inserted, so a backdated run is
                   point in time, and the next later run is incremental from it -#}

{% macro activity_match_is_incremental_engine() -%}
    {{ return(target.type in ['duckdb', 'postgres']) }}
{%- endmacro %}

{% macro activity_match_state_relation(relation, part) -%}
    {{ return(api.Relation.create(
        database=relation.database, schema=relation.schema,
        identifier=relation.identifier ~ '__state_' ~ part, type='table',
    )) }}
{%- endmacro %}

{#- The rows erased by privacy requests so far (ops.erasure_runs, when the table exists). -#}
{% macro activity_match_rows_erased() -%}
    {%- set erasure_runs = adapter.get_relation(database=target.database, schema='ops', identifier='erasure_runs') -%}
    {%- if erasure_runs is none -%}
        cast(0 as {{ dbt.type_bigint() }})
    {%- else -%}
        (select cast(coalesce(sum(rows_erased), 0) as {{ dbt.type_bigint() }}) from {{ erasure_runs }})
    {%- endif -%}
{%- endmacro %}

{#- The content of a seed as one hash of the given columns, in a stable order (the first
    column must be unique). -#}
{% macro seed_content_hash(seed, columns) -%}
    {%- set parts = [] -%}
    {%- for column in columns -%}
        {%- if not loop.first %}{% do parts.append("'|'") %}{% endif -%}
        {%- do parts.append("coalesce(cast(" ~ column ~ " as " ~ dbt.type_string() ~ "), '')") -%}
    {%- endfor -%}
    {%- set key = "cast(" ~ columns[0] ~ " as " ~ dbt.type_string() ~ ")" -%}
    (select {{ dbt.hash(lead_scoring.ordered_listagg(dbt.concat(parts), ',', lead_scoring.binary_sort_key(key))) }}
    from {{ seed }})
{%- endmacro %}

{#- The content of seeds/marketo_activity_types as one hash (the only seed the match reads). -#}
{% macro activity_match_types_hash(activity_types) -%}
    {{ lead_scoring.seed_content_hash(activity_types, ['activity_type_id', 'event_type']) }}
{%- endmacro %}

{% macro activity_match_mode(relation, activity_types) -%}
    {%- if not execute or relation is none or not is_incremental() -%}
        {{ return('full') }}
    {%- endif -%}
    {%- for part in ['people', 'marketo_leads', 'batches'] -%}
        {%- set state = lead_scoring.activity_match_state_relation(relation, part) -%}
        {%- if adapter.get_relation(database=state.database, schema=state.schema, identifier=state.identifier) is none -%}
            {{ return('rebuild') }}
        {%- endif -%}
    {%- endfor -%}
    {%- set batches = lead_scoring.activity_match_state_relation(relation, 'batches') -%}
    {%- set check -%}
        select count(*) from (
            select
                max(as_of) as as_of,
                max(activity_types_hash) as activity_types_hash,
                max(rows_erased) as rows_erased,
                count(*) as batches
            from {{ batches }}
        ) as state
        where state.batches > 0
            and state.as_of <= {{ lead_scoring.as_of() }}
            and state.activity_types_hash = {{ lead_scoring.activity_match_types_hash(activity_types) }}
            and state.rows_erased = {{ lead_scoring.activity_match_rows_erased() }}
    {%- endset -%}
    {%- set result = run_query(check) -%}
    {{ return('incremental' if result.columns[0].values()[0] | int == 1 else 'rebuild') }}
{%- endmacro %}

{#- This build's number: one more than the last build's (in its state), 1 for a first build
    or on engines that keep no state. Each row the build writes carries it
    (match_build_number), so the models that follow the match know which rows are new. -#}
{% macro activity_match_build_number(relation) -%}
    {%- set batches = lead_scoring.activity_match_state_relation(relation, 'batches') if relation is not none else none -%}
    {%- if execute and batches is not none and lead_scoring.activity_match_is_incremental_engine()
        and adapter.get_relation(database=batches.database, schema=batches.schema, identifier=batches.identifier) is not none
        and 'build_number' in adapter.get_columns_in_relation(batches) | map(attribute='name') | map('lower') | list -%}
        (select coalesce(max(build_number), 0) + 1 from {{ batches }})
    {%- else -%}
        cast(1 as {{ dbt.type_bigint() }})
    {%- endif -%}
{%- endmacro %}

{#- pre-hook: a rebuild starts from an empty table. -#}
{% macro activity_match_clear(relation, activity_types) -%}
    {%- if lead_scoring.activity_match_is_incremental_engine()
        and lead_scoring.activity_match_mode(relation, activity_types) == 'rebuild' -%}
        delete from {{ relation }}
    {%- else -%}
        select 1 as nothing_to_clear
    {%- endif -%}
{%- endmacro %}

{#- post-hooks: the incremental step inserts the candidates it found unmatched as rows
    without a person (so delete+insert removes their earlier match); they are kept in
    __state_unmatched, then go. Then the state the next build compares with (the batches
    first, under another name, while the state the mode is decided from is still there).
    Each returns one statement. -#}
{% macro activity_match_save_state(relation, step, people, grouped, marketo_leads, activity_types, marketo_source, events_source) -%}
    {%- if not lead_scoring.activity_match_is_incremental_engine() -%}
        select 1 as no_state_kept
    {%- elif step == 'drop_unmatched' -%}
        delete from {{ relation }} where person_id is null
    {%- else -%}
        {%- set part = step.split(':')[1] -%}
        {%- set state = lead_scoring.activity_match_state_relation(relation, part) -%}
        {%- if step.startswith('drop:') -%}
            drop table if exists {{ state }}
        {%- elif part == 'unmatched' -%}
            create table {{ state }} as
            select activity_source, activity_id
            from {{ relation }}
            where person_id is null
        {%- elif part == 'people' -%}
            create table {{ state }} as
            select
                people.person_id,
                people.email,
                grouped.person_key
            from {{ people }} as people
            inner join {{ grouped }} as grouped
                on people.person_id = grouped.person_id
        {%- elif part == 'marketo_leads' -%}
            create table {{ state }} as
            select
                marketo_lead_id,
                coalesce(crm_contact_id, crm_lead_id) as crm_id,
                email
            from {{ marketo_leads }}
        {%- elif part == 'batches_next' -%}
            create table {{ state }} as
            select
                seen.batch_id,
                {{ lead_scoring.as_of() }} as as_of,
                {{ lead_scoring.activity_match_types_hash(activity_types) }} as activity_types_hash,
                {{ lead_scoring.activity_match_rows_erased() }} as rows_erased,
                {{ 'true' if lead_scoring.activity_match_mode(relation, activity_types) == 'incremental' else 'false' }}
                    as is_incremental_build,
                {{ lead_scoring.activity_match_build_number(relation) }} as build_number
            from (
                select _batch_id as batch_id from {{ marketo_source }}
                union
                select _batch_id as batch_id from {{ events_source }}
            ) as seen
            where seen.batch_id is not null
        {%- else -%}
            alter table {{ lead_scoring.activity_match_state_relation(relation, 'batches_next') }}
            rename to {{ state.identifier }}
        {%- endif -%}
    {%- endif -%}
{%- endmacro %}
