{#- One row per merged person (person_key) and matching negative rule (seeds/negative_rules.csv). -#}
with

people as (

    select * from {{ ref('int_people_deduplicated') }}

),

activity_summary as (

    select * from {{ ref('int_people_activity_summarized') }}

),

negative_rules_source as (

    select * from {{ ref('negative_rules') }}

),

negative_rules as (

    select
        *,
        case
            when rule_type in ('careers_focus', 'inactive_days')
                then {{ dbt.safe_cast('match_value', dbt.type_float()) }}
        end as threshold_value
    from negative_rules_source

),

email_domain_lists as (

    select * from {{ ref('email_domain_lists') }}

),

personal_domains as (

    select domain from email_domain_lists
    where list_name = 'personal'

),

competitor_domains as (

    select domain from email_domain_lists
    where list_name = 'competitor'

),

facts as (

    select
        people.person_key,
        people.title_seniority,
        lower(trim(people.country)) as country,
        personal_domains.domain is not null as has_personal_email_domain,
        competitor_domains.domain is not null as has_competitor_email_domain,
        people.has_opted_out_of_email or coalesce(activity_summary.has_unsubscribe_event, false) as is_unsubscribed,
        people.has_hard_bounced or coalesce(activity_summary.has_hard_bounce_event, false) as is_hard_bounced,
        case
            when coalesce(activity_summary.page_view_count, 0) = 0 then 0.0
            else cast(activity_summary.careers_page_view_count as {{ dbt.type_float() }})
                / activity_summary.page_view_count
        end as careers_page_share,
        {{ lead_scoring.age_in_days(
            'coalesce(activity_summary.last_activity_at, people.created_at)', lead_scoring.as_of()
        ) }} as days_since_last_activity
    from people
    left join activity_summary
        on people.person_key = activity_summary.person_key
    left join personal_domains
        on people.email_domain = personal_domains.domain
    left join competitor_domains
        on people.email_domain = competitor_domains.domain

),

matched as (

    select
        facts.person_key,
        negative_rules.rule_id,
        negative_rules.label,
        negative_rules.points,
        negative_rules.is_disqualifier
    from facts
    inner join negative_rules
        on (negative_rules.rule_type = 'personal_email_domain' and facts.has_personal_email_domain)
        or (negative_rules.rule_type = 'competitor_email_domain' and facts.has_competitor_email_domain)
        or (negative_rules.rule_type = 'title_seniority' and facts.title_seniority = negative_rules.match_value)
        or (negative_rules.rule_type = 'unserviced_country' and facts.country = lower(negative_rules.match_value))
        or (negative_rules.rule_type = 'unsubscribed' and facts.is_unsubscribed)
        or (negative_rules.rule_type = 'hard_bounce' and facts.is_hard_bounced)
        or (
            negative_rules.rule_type = 'careers_focus'
            and facts.careers_page_share > negative_rules.threshold_value
        )
        or (
            negative_rules.rule_type = 'inactive_days'
            and facts.days_since_last_activity > negative_rules.threshold_value
        )

),

final as (

    select * from matched

)

select * from final
