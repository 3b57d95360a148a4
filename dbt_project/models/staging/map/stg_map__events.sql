{#- One row per generic JSONL event (the same event_id re-sent counts once). The columns are
    macros/map_staging.sql's, which the incremental activity match shares. -#}
with

newest as (

    {{ lead_scoring.map_newest_copies(
        lead_scoring.stg_map_events_columns(source('map', 'events'))
    ) }}

),

final as (

    select
        -- ids
        activity_id,
        batch_id,
        crm_id,

        -- strings
        email,
        event_type,
        url,
        properties_json,
        source_file,

        -- timestamps
        occurred_at,
        loaded_at

    from newest

)

select * from final
