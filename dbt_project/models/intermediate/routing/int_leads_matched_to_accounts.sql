{#- Lead-to-account matching: one row per open Lead with the Account whose website domain
    equals the Lead's e-mail domain, or else the Lead's own website domain. Domains are
    normalised (scheme, `www.`, path and case removed); personal e-mail domains never match.
    Several Accounts on one domain: the oldest wins (then the lowest Id). -#}
with

leads as (

    select * from {{ ref('stg_salesforce__leads') }}
    {{ lead_scoring.fast_lane_scope('lead_id', 'scored') }}

),

accounts as (

    select * from {{ ref('stg_salesforce__accounts') }}

),

email_domain_lists as (

    select * from {{ ref('email_domain_lists') }}

),

personal_domains as (

    select distinct lower(domain) as domain
    from email_domain_lists
    where list_name = 'personal'

),

account_domains as (

    select
        account_id,
        owner_id as account_owner_id,
        account_name,
        {{ lead_scoring.normalize_domain('website') }} as website_domain,
        row_number() over (
            partition by {{ lead_scoring.normalize_domain('website') }}
            order by created_at, account_id
        ) as domain_rank
    from accounts
    where website is not null

),

account_by_domain as (

    select * from account_domains
    where domain_rank = 1
        and website_domain is not null

),

lead_domains as (

    select
        leads.lead_id,
        case
            when personal_domains.domain is null
                then {{ lead_scoring.normalize_domain(dbt.split_part('leads.email', "'@'", 2)) }}
        end as email_domain,
        {{ lead_scoring.normalize_domain('leads.website') }} as website_domain
    from leads
    left join personal_domains
        on {{ dbt.split_part('leads.email', "'@'", 2) }} = personal_domains.domain
    where not leads.is_converted

),

matched as (

    select
        lead_domains.lead_id,
        coalesce(by_email.account_id, by_website.account_id) as account_id,
        coalesce(by_email.account_owner_id, by_website.account_owner_id) as account_owner_id,
        coalesce(by_email.account_name, by_website.account_name) as account_name,
        case
            when by_email.account_id is not null then 'email domain'
            when by_website.account_id is not null then 'website domain'
        end as matched_by,
        case
            when by_email.account_id is not null then lead_domains.email_domain
            else lead_domains.website_domain
        end as matched_domain
    from lead_domains
    left join account_by_domain as by_email
        on lead_domains.email_domain = by_email.website_domain
    left join account_by_domain as by_website
        on lead_domains.website_domain = by_website.website_domain

),

final as (

    select * from matched
    where account_id is not null

)

select * from final
