{#- One row per Marketo lead id: its latest known identity (CRM ids, e-mail). -#}
with

source as (

    select * from {{ source('map', 'marketo_leads') }}

),

deduplicated as (

    select
        *,
        row_number() over (partition by id order by updatedat desc nulls last, _loaded_at desc) as version_rank
    from source

),

renamed as (

    select
        -- ids
        cast(id as {{ dbt.type_bigint() }}) as marketo_lead_id,
        nullif(trim(sfdcleadid), '') as crm_lead_id,
        nullif(trim(sfdccontactid), '') as crm_contact_id,

        -- strings
        {{ lead_scoring.normalize_email('email') }} as email,

        -- timestamps
        updatedat as updated_at

    from deduplicated
    where version_rank = 1

)

select * from renamed
