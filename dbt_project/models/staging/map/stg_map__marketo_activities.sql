{#- One row per Marketo activity (the same GUID re-exported in a later file counts once). -#}
with

source as (

    select * from {{ source('map', 'marketo_activities') }}

),

deduplicated as (

    select
        *,
        row_number() over (partition by marketoguid order by _loaded_at desc, _line asc) as copy_rank
    from source

),

renamed as (

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

        -- timestamps
        activitydate as occurred_at,
        _loaded_at as loaded_at

    from deduplicated
    where copy_rank = 1

)

select * from renamed
