{#- One row per Marketo activity (the same GUID re-exported in a later file counts once).
    The columns are macros/map_staging.sql's, which the incremental activity match shares. -#}
with

newest as (

    {{ lead_scoring.map_newest_copies(
        lead_scoring.stg_map_marketo_activities_columns(source('map', 'marketo_activities'))
    ) }}

),

final as (

    select
        -- ids
        activity_id,
        batch_id,
        marketo_lead_id,
        activity_type_id,

        -- strings
        primary_attribute_value,
        attributes_json,
        source_file,

        -- timestamps
        occurred_at,
        loaded_at

    from newest

)

select * from final
