{#- One row per generic JSONL event (the same event_id re-sent counts once). -#}
with

source as (

    select * from {{ source('map', 'events') }}

),

deduplicated as (

    select
        *,
        row_number() over (partition by event_id order by _loaded_at desc, _line asc) as copy_rank
    from source

),

renamed as (

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

        -- timestamps
        occurred_at,
        _loaded_at as loaded_at

    from deduplicated
    where copy_rank = 1

)

select * from renamed
