{#- The funnel per cohort week (the week of the first score), first tier, lead source and
    nurture campaign (the Campaign of the person's first nurture membership the write-back made,
    ops.crm_actions; '(none)' for people never in nurture):
    people -> MQL -> SQL -> opportunity -> won, each stage nested in the one before and in
    time order (an MQL reached the MQL threshold at some hour of marts.lead_score_history;
    an SQL reached the SQL threshold; a funnel opportunity was created at or after the hour
    the person first held SQL; won = those of them with a won opportunity). Opportunities that came
    without the person reaching SQL first are counted apart (opportunities_outside_funnel):
    the leads the score missed. As in rpt_conversion_by_tier_weekly, people whose first
    opportunity came before their first score are left out and counted apart. -#}
with

people_outcomes as (

    select * from {{ ref('int_people_outcomes_joined') }}

),

records as (

    select * from {{ ref('int_people_titles_classified') }}

),

crm_actions as (

    select * from {{ source('write_back', 'crm_actions') }}

),

memberships_ranked as (

    select
        crm_id,
        campaign_name,
        row_number() over (partition by crm_id order by created_at, action_id) as membership_rank
    from crm_actions
    where object = 'CampaignMember'
        and kind = 'nurture'

),

first_campaigns as (

    select
        crm_id,
        campaign_name
    from memberships_ranked
    where membership_rank = 1

),

cohorts as (

    select
        cast({{ dbt.date_trunc('week', 'people_outcomes.assigned_at') }} as date) as cohort_week_start_date,
        people_outcomes.assigned_tier,
        coalesce(records.lead_source, '(none)') as lead_source,
        coalesce(first_campaigns.campaign_name, '(none)') as campaign_name,
        people_outcomes.has_opportunity_before_first_score,
        people_outcomes.first_mql_at is not null as is_mql,
        people_outcomes.first_sql_at is not null as is_sql,
        coalesce(
            people_outcomes.has_opportunity and not people_outcomes.has_opportunity_before_first_score, false
        ) as has_later_opportunity,
        coalesce(
            people_outcomes.first_opportunity_at >= people_outcomes.first_sql_at
            and not people_outcomes.has_opportunity_before_first_score,
            false
        ) as has_funnel_opportunity,
        people_outcomes.has_won_opportunity
    from people_outcomes
    left join records
        on people_outcomes.crm_id = records.person_id
    left join first_campaigns
        on people_outcomes.crm_id = first_campaigns.crm_id

),

aggregated as (

    select
        cohort_week_start_date,
        assigned_tier,
        lead_source,
        campaign_name,
        sum(case when has_opportunity_before_first_score then 0 else 1 end) as people,
        sum(case when has_opportunity_before_first_score then 1 else 0 end) as people_with_earlier_opportunity,
        sum(case when is_mql and not has_opportunity_before_first_score then 1 else 0 end) as mqls,
        sum(case when is_sql and not has_opportunity_before_first_score then 1 else 0 end) as sqls,
        sum(case when has_funnel_opportunity then 1 else 0 end) as opportunities,
        sum(case when has_funnel_opportunity and has_won_opportunity then 1 else 0 end) as won,
        sum(case when has_later_opportunity and not has_funnel_opportunity then 1 else 0 end)
            as opportunities_outside_funnel
    from cohorts
    group by cohort_week_start_date, assigned_tier, lead_source, campaign_name

),

final as (

    select
        -- strings
        lead_source,
        campaign_name,
        case assigned_tier
            when 1 then 'Hot'
            when 2 then 'Warm'
            when 3 then 'Nurture'
            else 'Disqualified'
        end as tier_label,

        -- numerics
        assigned_tier as tier,
        people,
        mqls,
        sqls,
        opportunities,
        won,
        opportunities_outside_funnel,
        people_with_earlier_opportunity,
        cast(mqls as {{ dbt.type_float() }}) / nullif(people, 0) as mql_rate,
        cast(sqls as {{ dbt.type_float() }}) / nullif(mqls, 0) as sql_rate,
        cast(opportunities as {{ dbt.type_float() }}) / nullif(sqls, 0) as opportunity_rate,
        cast(won as {{ dbt.type_float() }}) / nullif(opportunities, 0) as win_rate,

        -- dates
        cohort_week_start_date

    from aggregated

)

select * from final
