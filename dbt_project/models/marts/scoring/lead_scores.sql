{#- One row per scored CRM person (Lead or Contact) as of var('as_of'): fit, intent,
    negative, composite, grade, tier, MQL/SQL flags and the top reasons. Every number is a
    sum of rows in intermediate.int_score_contributions_unioned (summed per component, with
    the reasons, in int_people_contributions_summarized). Records with the same normalised
    e-mail are one person (person_key): they get identical scores, and duplicate_group lists
    their crm_ids. With a promoted learned points table (int_people_predictive_scored), the
    composite blends the rules and the model's predictive_score by the predictive_weight
    parameter, its top bins join the reasons and its version the scoring_model_version. -#}
with

people as (

    select * from {{ ref('int_people_titles_classified') }}

),

grouped as (

    select * from {{ ref('int_people_grouped_by_email') }}

),

contribution_totals as (

    select * from {{ ref('int_people_contributions_summarized') }}

),

parameters as (

    select * from {{ ref('int_scoring_parameters_pivoted') }}

),

model_version as (

    select * from {{ ref('int_scoring_model_versioned') }}

),

predictive as (

    select * from {{ ref('int_people_predictive_scored') }}

),

scored as (

    select
        people.person_id,
        people.crm_object,
        people.email,
        people.account_id,
        people.owner_id,
        people.is_converted,
        contribution_totals.score_reasons,
        predictive.predictive_reasons,
        predictive.predictive_model_version,
        predictive.predictive_score,
        predictive.conversion_probability,
        {{ lead_scoring.round_to(lead_scoring.clamp('coalesce(contribution_totals.fit_points, 0)', 0, 100), 0) }}
            as fit_score,
        {{ lead_scoring.round_to(lead_scoring.clamp('coalesce(contribution_totals.intent_points, 0)', 0, 100), 0) }}
            as intent_score,
        {{ lead_scoring.round_to('coalesce(contribution_totals.negative_points, 0)', 0) }} as negative_score,
        coalesce(contribution_totals.has_disqualifier, false) as is_disqualified
    from people
    left join contribution_totals
        on people.person_id = contribution_totals.person_id
    left join predictive
        on people.person_id = predictive.person_id

),

weighted as (

    select
        scored.*,
        case
            when scored.predictive_score is null then 0
            else parameters.predictive_weight
        end as model_weight
    from scored
    cross join parameters

),

composited as (

    select
        weighted.*,
        {{ lead_scoring.round_to(lead_scoring.clamp(
            '(1 - weighted.model_weight) * (parameters.fit_weight * weighted.fit_score + parameters.intent_weight * weighted.intent_score)'
            ~ ' + weighted.model_weight * coalesce(weighted.predictive_score, 0) + weighted.negative_score',
            0, 100), 0) }} as composite_score
    from weighted
    cross join parameters

),

tiered as (

    select
        composited.*,
        case
            when composited.is_disqualified then 4
            when composited.composite_score >= parameters.tier1_threshold
                and composited.fit_score >= parameters.tier1_min_fit then 1
            when composited.composite_score >= parameters.tier2_threshold then 2
            when composited.composite_score >= parameters.tier3_threshold then 3
            else 4
        end as tier,
        case
            when composited.fit_score >= parameters.grade_a_min_fit then 'A'
            when composited.fit_score >= parameters.grade_b_min_fit then 'B'
            when composited.fit_score >= parameters.grade_c_min_fit then 'C'
            else 'D'
        end as grade_letter,
        case
            when composited.intent_score >= parameters.engagement_1_min_intent then '1'
            when composited.intent_score >= parameters.engagement_2_min_intent then '2'
            when composited.intent_score >= parameters.engagement_3_min_intent then '3'
            else '4'
        end as engagement_digit,
        (
            not composited.is_disqualified
            and composited.composite_score >= parameters.mql_threshold
        ) as is_mql,
        (
            not composited.is_disqualified
            and composited.composite_score >= parameters.sql_threshold
            and composited.fit_score >= parameters.tier1_min_fit
        ) as is_sql
    from composited
    cross join parameters

),

final as (

    select
        -- ids
        tiered.person_id as crm_id,
        tiered.crm_object,
        tiered.account_id,
        tiered.owner_id,
        grouped.person_key,

        -- strings
        tiered.email,
        {{ dbt.concat(['tiered.grade_letter', 'tiered.engagement_digit']) }} as grade,
        case tiered.tier
            when 1 then 'Hot'
            when 2 then 'Warm'
            when 3 then 'Nurture'
            else 'Disqualified'
        end as tier_label,
        case
            when tiered.model_weight > 0 and tiered.predictive_reasons is not null
                then {{ dbt.concat([
                    "case when coalesce(tiered.score_reasons, '') <> '' then " ~ dbt.concat(['tiered.score_reasons', "'; '"]) ~ " else '' end",
                    'tiered.predictive_reasons',
                ]) }}
            else coalesce(tiered.score_reasons, '')
        end as score_reasons,
        grouped.duplicate_group,
        case
            when tiered.model_weight > 0
                then {{ dbt.concat(['model_version.scoring_model_version', "'+'", 'tiered.predictive_model_version']) }}
            else model_version.scoring_model_version
        end as scoring_model_version,

        -- numerics
        tiered.fit_score,
        tiered.intent_score,
        tiered.negative_score,
        tiered.composite_score,
        tiered.predictive_score,
        tiered.conversion_probability,
        tiered.tier,
        grouped.duplicate_count,

        -- booleans
        tiered.is_mql,
        tiered.is_sql,
        tiered.is_disqualified,
        tiered.is_converted,

        -- timestamps
        {{ lead_scoring.as_of() }} as scored_at

    from tiered
    cross join model_version
    left join grouped
        on tiered.person_id = grouped.person_id

)

select * from final
