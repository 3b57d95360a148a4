{#- One row per Opportunity: the latest version known at as_of, soft deletes removed. -#}
with

source as (

    select * from {{ source('salesforce', 'opportunity') }}

),

versions as (

    select
        *,
        row_number() over (
            partition by id
            order by systemmodstamp desc, _loaded_at desc
        ) as version_rank
    from source
    where systemmodstamp <= {{ lead_scoring.as_of() }}

),

renamed as (

    select
        -- ids
        id as opportunity_id,
        accountid as account_id,
        contactid as contact_id,
        ownerid as owner_id,

        -- strings
        name as opportunity_name,
        stagename as stage_name,
        leadsource as lead_source,

        -- numerics
        cast(amount as {{ dbt.type_float() }}) as amount,

        -- booleans
        coalesce(isclosed, false) as is_closed,
        coalesce(iswon, false) as is_won,

        -- dates
        closedate as close_date,

        -- timestamps
        createddate as created_at,
        systemmodstamp as system_modstamp_at

    from versions
    where version_rank = 1
        and not coalesce(isdeleted, false)

)

select * from renamed
