{#- The curve the threshold recommendations read: one row per composite threshold 0-100
    with the non-disqualified people whose first assigned composite score is at or above it
    (int_people_outcomes_joined), their conversions, share of everyone and conversion rate,
    and the Tier 1 load it would give: people created in the last var('capacity_window_days')
    days per day x share at or above, over the active owners of scored people. -#}
{%- set window_days = var('capacity_window_days', 28) -%}
with

people_outcomes as (

    select * from {{ ref('int_people_outcomes_joined') }}

),

people as (

    select * from {{ ref('int_people_unified') }}

),

users as (

    select * from {{ ref('stg_salesforce__users') }}

),

candidates as (

    select
        crm_id,
        owner_id,
        assigned_composite_score,
        has_opportunity
    from people_outcomes
    where not is_disqualified

),

series as (

    {{ dbt.generate_series(101) }}

),

thresholds as (

    select cast(generated_number - 1 as {{ dbt.type_int() }}) as threshold
    from series

),

curve as (

    select
        thresholds.threshold,
        count(candidates.crm_id) as people_at_or_above,
        sum(case when candidates.has_opportunity then 1 else 0 end) as conversions_at_or_above
    from thresholds
    left join candidates
        on thresholds.threshold <= candidates.assigned_composite_score
    group by thresholds.threshold

),

totals as (

    select count(*) as total_people
    from candidates

),

inflow as (

    select
        cast(count(*) as {{ dbt.type_float() }}) / {{ window_days }} as new_people_per_day
    from people
    where created_at > {{ dbt.dateadd('day', '-' ~ window_days, lead_scoring.as_of()) }}

),

reps as (

    select count(distinct users.user_id) as active_reps
    from users
    inner join candidates
        on users.user_id = candidates.owner_id
    where users.is_active

),

final as (

    select
        curve.threshold,
        curve.people_at_or_above,
        curve.conversions_at_or_above,
        cast(curve.people_at_or_above as {{ dbt.type_float() }}) / nullif(totals.total_people, 0)
            as share_at_or_above,
        cast(curve.conversions_at_or_above as {{ dbt.type_float() }}) / nullif(curve.people_at_or_above, 0)
            as conversion_rate_at_or_above,
        inflow.new_people_per_day * curve.people_at_or_above
        / nullif(totals.total_people, 0) / nullif(reps.active_reps, 0) as tier1_per_rep_per_day
    from curve
    cross join totals
    cross join inflow
    cross join reps

)

select * from final
