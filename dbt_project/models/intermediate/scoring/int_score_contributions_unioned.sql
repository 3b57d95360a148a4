{#- The score contributions per CRM record: one row per record (person_id), score component
    (fit | intent | negative) and rule, with the points it contributes. Rules are matched on
    the merged person (int_score_contributions_merged, per person_key): records merged as
    duplicates carry the same rows, each under its own person_id. leadscore explain and the
    checks read it; lead_scores reads the merged rows. -#}
with

grouped as (

    select * from {{ ref('int_people_grouped_by_email') }}

),

merged as (

    select * from {{ ref('int_score_contributions_merged') }}

),

final as (

    select
        grouped.person_id,
        merged.person_key,
        merged.component,
        merged.rule_id,
        merged.label,
        merged.points,
        merged.age_days,
        merged.latest_on,
        merged.is_disqualifier
    from merged
    inner join grouped
        on merged.person_key = grouped.person_key

)

select * from final
