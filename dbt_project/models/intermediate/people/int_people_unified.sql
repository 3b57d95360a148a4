{#- Everyone we score: Leads and Contacts in one shape, with the firmographics of their
    company (a Lead's own fields, a Contact's Account). One row per CRM record. -#}
with

leads as (

    select * from {{ ref('stg_salesforce__leads') }}

),

contacts as (

    select * from {{ ref('stg_salesforce__contacts') }}

),

accounts as (

    select * from {{ ref('stg_salesforce__accounts') }}

),

lead_people as (

    select
        leads.lead_id as person_id,
        'Lead' as crm_object,
        leads.converted_account_id as account_id,
        leads.owner_id,
        leads.email,
        leads.title,
        leads.industry,
        leads.country,
        leads.state,
        leads.technologies,
        leads.lead_source,
        leads.number_of_employees,
        leads.annual_revenue,
        leads.is_converted,
        leads.has_opted_out_of_email,
        leads.is_do_not_call,
        leads.email_bounced_at is not null as has_hard_bounced,
        leads.created_at
    from leads

),

contact_people as (

    select
        contacts.contact_id as person_id,
        'Contact' as crm_object,
        contacts.account_id,
        contacts.owner_id,
        contacts.email,
        contacts.title,
        accounts.industry,
        coalesce(contacts.mailing_country, accounts.billing_country) as country,
        coalesce(contacts.mailing_state, accounts.billing_state) as state,
        accounts.technologies,
        contacts.lead_source,
        accounts.number_of_employees,
        accounts.annual_revenue,
        false as is_converted,
        contacts.has_opted_out_of_email,
        contacts.is_do_not_call,
        contacts.email_bounced_at is not null as has_hard_bounced,
        contacts.created_at
    from contacts
    left join accounts
        on contacts.account_id = accounts.account_id

),

unioned as (

    select * from lead_people
    union all
    select * from contact_people

),

final as (

    select
        *,
        {{ dbt.split_part('email', "'@'", 2) }} as email_domain
    from unioned
    where created_at <= {{ lead_scoring.as_of() }}

)

select * from final
