{#- The MAP activity staging models' columns, from a raw table or a subquery of its rows
    (stg_map__marketo_activities and stg_map__events read the whole table; the incremental
    activity match reads only the copies of its candidates), with copy_line, the raw line the
    newest-copy rule breaks ties on. Each returns a select. -#}
{% macro stg_map_marketo_activities_columns(rows) -%}
    select
        -- ids
        marketoguid as activity_id,
        _batch_id as batch_id,
        cast(leadid as {{ dbt.type_bigint() }}) as marketo_lead_id,
        cast(activitytypeid as {{ dbt.type_int() }}) as activity_type_id,

        -- strings
        primaryattributevalue as primary_attribute_value,
        attributes as attributes_json,
        _file as source_file,

        -- numerics
        _line as copy_line,

        -- timestamps
        activitydate as occurred_at,
        _loaded_at as loaded_at

    from {{ rows }}
{%- endmacro %}

{% macro stg_map_events_columns(rows) -%}
    select
        -- ids
        event_id as activity_id,
        _batch_id as batch_id,
        nullif(trim(crm_id), '') as crm_id,

        -- strings
        {{ lead_scoring.normalize_email('email') }} as email,
        lower(trim(event_type)) as event_type,
        url,
        properties as properties_json,
        _file as source_file,

        -- numerics
        _line as copy_line,

        -- timestamps
        occurred_at,
        _loaded_at as loaded_at

    from {{ rows }}
{%- endmacro %}

{#- The newest copy of each activity id among ``rows`` (the columns above): the same id
    re-sent in a later file counts once, as its latest load (the first line of it). -#}
{% macro map_newest_copies(rows) -%}
    select * from (
        select
            copies.*,
            row_number() over (partition by copies.activity_id order by copies.loaded_at desc, copies.copy_line asc)
                as copy_rank
        from ({{ rows }}) as copies
    ) as ranked
    where ranked.copy_rank = 1
{%- endmacro %}
