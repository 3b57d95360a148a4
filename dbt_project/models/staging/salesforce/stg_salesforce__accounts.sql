{#- One row per Account: the latest version known at as_of, soft deletes removed. -#}
with

source as (

    select * from {{ source('salesforce', 'account') }}

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
        id as account_id,
        ownerid as owner_id,

        -- strings
        name as account_name,
        website,
        industry,
        billingcountry as billing_country,
        billingstate as billing_state,
        type as account_type,
        technologies__c as technologies,

        -- numerics
        cast(numberofemployees as {{ dbt.type_int() }}) as number_of_employees,
        cast(annualrevenue as {{ dbt.type_float() }}) as annual_revenue,

        -- timestamps
        createddate as created_at,
        systemmodstamp as system_modstamp_at

    from versions
    where version_rank = 1
        and not coalesce(isdeleted, false)

)

select * from renamed
