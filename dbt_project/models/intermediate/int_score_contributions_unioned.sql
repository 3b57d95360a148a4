{#- The long table every score and every reason reads from: one row per person, score
    component (fit | intent | negative) and rule, with the points it contributes. -#}
with

people as (

    select * from {{ ref('int_people_unified') }}

),

fit_rules_matched as (

    select * from {{ ref('int_fit_rules_matched') }}

),

activities_decayed as (

    select * from {{ ref('int_activities_decayed') }}

),

negative_rules_matched as (

    select * from {{ ref('int_negative_rules_matched') }}

),

parameters as (

    select * from {{ ref('int_scoring_parameters_pivoted') }}

),

fit_contributions as (

    select
        person_id,
        'fit' as component,
        rule_id,
        label,
        points,
        cast(null as {{ dbt.type_float() }}) as age_days,
        false as is_disqualifier
    from fit_rules_matched

),

intent_contributions as (

    select
        person_id,
        'intent' as component,
        signal_id as rule_id,
        max(label) as label,
        sum(decayed_points) as points,
        min(age_days) as age_days,
        false as is_disqualifier
    from activities_decayed
    group by person_id, signal_id

),

recency_bonus as (

    select
        activities_decayed.person_id,
        'intent' as component,
        'recency_bonus' as rule_id,
        'Recent activity bonus' as label,
        max(parameters.recency_bonus_points) as points,
        min(activities_decayed.age_days) as age_days,
        false as is_disqualifier
    from activities_decayed
    cross join parameters
    where activities_decayed.base_points > 0
    group by activities_decayed.person_id
    having min(activities_decayed.age_days) <= max(parameters.recency_bonus_days)

),

negative_contributions as (

    select
        person_id,
        'negative' as component,
        rule_id,
        label,
        points,
        cast(null as {{ dbt.type_float() }}) as age_days,
        is_disqualifier
    from negative_rules_matched

),

unioned as (

    select * from fit_contributions
    union all
    select * from intent_contributions
    union all
    select * from recency_bonus
    union all
    select * from negative_contributions

),

final as (

    select unioned.*
    from unioned
    inner join people
        on unioned.person_id = people.person_id

)

select * from final
