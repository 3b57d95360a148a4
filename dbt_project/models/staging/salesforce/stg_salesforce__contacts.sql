{#- One row per Contact: the latest version known at as_of, soft deletes removed. -#}
with

source as (

    select * from {{ source('salesforce', 'contact') }}

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
        id as contact_id,
        accountid as account_id,
        ownerid as owner_id,

        -- strings
        {{ lead_scoring.normalize_email('email') }} as email,
        firstname as first_name,
        lastname as last_name,
        title,
        mailingcountry as mailing_country,
        mailingstate as mailing_state,
        leadsource as lead_source,
        emailbouncedreason as email_bounced_reason,

        -- booleans
        coalesce(hasoptedoutofemail, false) as has_opted_out_of_email,
        coalesce(donotcall, false) as is_do_not_call,

        -- timestamps
        emailbounceddate as email_bounced_at,
        createddate as created_at,
        systemmodstamp as system_modstamp_at

    from versions
    where version_rank = 1
        and not coalesce(isdeleted, false)

)

select * from renamed
