{#- The behavioural part of the score per merged person (person_key), before the account
    bonus: one row per signal (its decayed, capped occurrences summed), the recency bonus and
    each completed sequence. Account engagement is rolled up from these rows, so the account
    bonus a person inherits never feeds back into it. age_days is the latest occurrence's age as
    of var('as_of'); latest_on its UTC date, which the score's reasons show (a date stays true,
    an age written to the CRM goes stale and would rewrite the record every day). -#}
with

activities_decayed as (

    select * from {{ ref('int_activities_decayed') }}
    {{ lead_scoring.fast_lane_scope('person_key', 'context') }}

),

sequences_completed as (

    select * from {{ ref('int_sequences_completed') }}

),

parameters as (

    select * from {{ ref('int_scoring_parameters_pivoted') }}

),

signal_contributions as (

    select
        person_key,
        'intent' as component,
        signal_id as rule_id,
        max(label) as label,
        sum(decayed_points) as points,
        min(age_days) as age_days,
        cast(max(occurred_at) as date) as latest_on
    from activities_decayed
    group by person_key, signal_id

),

recency_bonus as (

    select
        activities_decayed.person_key,
        'intent' as component,
        'recency_bonus' as rule_id,
        'Recent activity bonus' as label,
        max(parameters.recency_bonus_points) as points,
        min(activities_decayed.age_days) as age_days,
        cast(max(activities_decayed.occurred_at) as date) as latest_on
    from activities_decayed
    cross join parameters
    where activities_decayed.base_points > 0
    group by activities_decayed.person_key
    having min(activities_decayed.age_days) <= max(parameters.recency_bonus_days)

),

sequence_contributions as (

    select
        person_key,
        'intent' as component,
        sequence_id as rule_id,
        label,
        decayed_points as points,
        age_days,
        cast(completed_at as date) as latest_on
    from sequences_completed

),

final as (

    select * from signal_contributions
    union all
    select * from recency_bonus
    union all
    select * from sequence_contributions

)

select * from final
