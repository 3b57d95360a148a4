{#- The duplicate report: one row per group of CRM records (Leads and/or Contacts) that share a
    normalised e-mail and were scored as one person, with its records, the survivor whose
    attributes win, and the one score every record of the group received. -#}
with

lead_scores as (

    select * from {{ ref('lead_scores') }}

),

grouped as (

    select * from {{ ref('int_people_grouped_by_email') }}

),

group_records as (

    select
        grouped.person_key,
        grouped.duplicate_group,
        grouped.is_survivor,
        lead_scores.crm_object,
        lead_scores.email,
        lead_scores.composite_score,
        lead_scores.tier,
        lead_scores.tier_label,
        lead_scores.is_converted,
        lead_scores.scored_at
    from grouped
    inner join lead_scores
        on grouped.person_id = lead_scores.crm_id
    where grouped.duplicate_count > 1

),

groups as (

    select
        person_key,
        max(duplicate_group) as duplicate_group,
        max(case when is_survivor then crm_object end) as survivor_crm_object,
        max(email) as email,
        count(*) as record_count,
        sum(case when crm_object = 'Lead' then 1 else 0 end) as lead_count,
        sum(case when crm_object = 'Contact' then 1 else 0 end) as contact_count,
        sum(case when is_converted then 1 else 0 end) as converted_lead_count,
        max(composite_score) as composite_score,
        max(tier) as tier,
        max(tier_label) as tier_label,
        max(scored_at) as scored_at
    from group_records
    group by person_key

),

final as (

    select
        -- ids
        person_key,

        -- strings
        email,
        duplicate_group,
        survivor_crm_object,
        tier_label,

        -- numerics
        record_count,
        lead_count,
        contact_count,
        converted_lead_count,
        composite_score,
        tier,

        -- timestamps
        scored_at

    from groups

)

select * from final
