{#- The score contributions of each merged person (person_key; records with one e-mail are
    one person, see int_people_grouped_by_email): one row per component (fit | intent |
    negative) and rule, with the points it contributes; a behaviour also with age_days and
    latest_on (its latest occurrence). The reasons and the totals are computed from these
    rows once per person, not once per CRM record; int_score_contributions_unioned gives
    them to each record. -#}
with

fit_rules_matched as (

    select * from {{ ref('int_fit_rules_matched') }}

),

intent_contributions as (

    select * from {{ ref('int_intent_contributions_unioned') }}

),

account_engagement as (

    select * from {{ ref('int_account_engagement_rolled_up') }}

),

negative_rules_matched as (

    select * from {{ ref('int_negative_rules_matched') }}

),

parameters as (

    select * from {{ ref('int_scoring_parameters_pivoted') }}

),

fit_contributions as (

    select
        person_key,
        'fit' as component,
        rule_id,
        label,
        points,
        cast(null as {{ dbt.type_float() }}) as age_days,
        cast(null as date) as latest_on,
        false as is_disqualifier
    from fit_rules_matched

),

behaviour_contributions as (

    select
        person_key,
        component,
        rule_id,
        label,
        points,
        age_days,
        latest_on,
        false as is_disqualifier
    from intent_contributions

),

account_bonus as (

    select
        account_engagement.person_key,
        'intent' as component,
        'account_engagement_bonus' as rule_id,
        {{ dbt.concat([
            "'Account engagement (engaged colleagues: '",
            "cast(account_engagement.engaged_colleagues as " ~ dbt.type_string() ~ ")",
            "')'",
        ]) }} as label,
        least(
            parameters.account_bonus_weight
            * {{ lead_scoring.clamp('account_engagement.colleague_intent_points', 0, 100) }},
            parameters.account_bonus_max_points
        ) as points,
        cast(null as {{ dbt.type_float() }}) as age_days,
        cast(null as date) as latest_on,
        false as is_disqualifier
    from account_engagement
    cross join parameters
    where account_engagement.engaged_colleagues >= 1
        and account_engagement.colleague_intent_points >= parameters.account_bonus_min_engagement

),

negative_contributions as (

    select
        person_key,
        'negative' as component,
        rule_id,
        label,
        points,
        cast(null as {{ dbt.type_float() }}) as age_days,
        cast(null as date) as latest_on,
        is_disqualifier
    from negative_rules_matched

),

final as (

    select * from fit_contributions
    union all
    select * from behaviour_contributions
    union all
    select * from account_bonus
    union all
    select * from negative_contributions

)

select * from final
