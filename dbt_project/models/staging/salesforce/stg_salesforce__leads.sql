{#- One row per Lead: the latest version known at as_of, soft deletes removed. -#}
with

source as (

    select * from {{ source('salesforce', 'lead') }}

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
        id as lead_id,
        ownerid as owner_id,
        convertedaccountid as converted_account_id,
        convertedcontactid as converted_contact_id,
        convertedopportunityid as converted_opportunity_id,

        -- strings
        {{ lead_scoring.normalize_email('email') }} as email,
        firstname as first_name,
        lastname as last_name,
        company as company_name,
        title,
        industry,
        country,
        state,
        website,
        technologies__c as technologies,
        leadsource as lead_source,
        status as lead_status,
        -- an org without the field has an empty column (crm_schema.OPTIONAL_READ_FIELDS)
        disqualification_reason__c as disqualification_reason,
        emailbouncedreason as email_bounced_reason,

        -- numerics
        cast(numberofemployees as {{ dbt.type_int() }}) as number_of_employees,
        cast(annualrevenue as {{ dbt.type_float() }}) as annual_revenue,

        -- booleans
        coalesce(isconverted, false) as is_converted,
        coalesce(hasoptedoutofemail, false) as has_opted_out_of_email,
        coalesce(donotcall, false) as is_do_not_call,

        -- dates
        converteddate as converted_date,

        -- timestamps
        emailbounceddate as email_bounced_at,
        createddate as created_at,
        systemmodstamp as system_modstamp_at

    from versions
    where version_rank = 1
        and not coalesce(isdeleted, false)

)

select * from renamed
