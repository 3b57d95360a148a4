{#- One row per User (reps). Users are never deleted in Salesforce, only deactivated. -#}
with

source as (

    select * from {{ source('salesforce', 'users') }}

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
        id as user_id,
        managerid as manager_id,

        -- strings
        name as user_name,
        {{ lead_scoring.normalize_email('email') }} as email,
        department,
        timezonesidkey as time_zone,

        -- booleans
        coalesce(isactive, false) as is_active,

        -- timestamps
        createddate as created_at,
        systemmodstamp as system_modstamp_at

    from versions
    where version_rank = 1

)

select * from renamed
