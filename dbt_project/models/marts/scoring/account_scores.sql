{#- One row per Account as of var('as_of'): firmographic fit (the fit rules that apply to
    accounts), engagement rolled up from its merged people's intent (before the account bonus
    they inherit from it, see int_account_engagement_rolled_up), and the weighted account
    score. -#}
with

accounts as (

    select * from {{ ref('stg_salesforce__accounts') }}
    {{ lead_scoring.fast_lane_scope('account_id', 'account') }}

),

account_fit_rules_matched as (

    select * from {{ ref('int_account_fit_rules_matched') }}

),

account_engagement as (

    select * from {{ ref('int_account_engagement_rolled_up') }}

),

parameters as (

    select * from {{ ref('int_scoring_parameters_pivoted') }}

),

model_version as (

    select * from {{ ref('int_scoring_model_versioned') }}

),

fit_totals as (

    select
        account_id,
        sum(points) as fit_points
    from account_fit_rules_matched
    group by account_id

),

people_totals as (

    select
        account_id,
        max(people_count) as people_count,
        max(engaged_people) as engaged_people,
        max(account_intent_points) as intent_points
    from account_engagement
    group by account_id

),

scored as (

    select
        accounts.account_id,
        accounts.account_name,
        {{ lead_scoring.round_to(lead_scoring.clamp('coalesce(fit_totals.fit_points, 0)', 0, 100), 0) }}
            as account_fit_score,
        {{ lead_scoring.round_to(lead_scoring.clamp('coalesce(people_totals.intent_points, 0)', 0, 100), 0) }}
            as account_engagement_score,
        coalesce(people_totals.people_count, 0) as people_count,
        coalesce(people_totals.engaged_people, 0) as engaged_people
    from accounts
    left join fit_totals
        on accounts.account_id = fit_totals.account_id
    left join people_totals
        on accounts.account_id = people_totals.account_id

),

final as (

    select
        -- ids
        scored.account_id,

        -- strings
        scored.account_name,
        model_version.scoring_model_version,

        -- numerics
        scored.account_fit_score,
        scored.account_engagement_score,
        {{ lead_scoring.round_to(lead_scoring.clamp(
            'parameters.fit_weight * scored.account_fit_score + parameters.intent_weight * scored.account_engagement_score',
            0, 100), 0) }} as account_score,
        scored.people_count,
        scored.engaged_people,

        -- timestamps
        {{ lead_scoring.as_of() }} as scored_at

    from scored
    cross join parameters
    cross join model_version

)

select * from final
