{#- Engagement per Account from its merged people's intent before the account bonus (each
    person's intent clamped to 0-100): people, engaged people (intent >=
    engagement_3_min_intent) and the summed intent. One row per person at an account too
    (grain: account_id, person_key), so each person's colleagues are the others. -#}
with

people as (

    select * from {{ ref('int_people_deduplicated') }}

),

intent_contributions as (

    select * from {{ ref('int_intent_contributions_unioned') }}

),

parameters as (

    select * from {{ ref('int_scoring_parameters_pivoted') }}

),

person_intent as (

    select
        person_key,
        sum(points) as intent_points
    from intent_contributions
    group by person_key

),

account_people as (

    select
        people.account_id,
        people.person_key,
        {{ lead_scoring.clamp('coalesce(person_intent.intent_points, 0)', 0, 100) }} as intent_score
    from people
    left join person_intent
        on people.person_key = person_intent.person_key
    where people.account_id is not null

),

flagged as (

    select
        account_people.*,
        case when account_people.intent_score >= parameters.engagement_3_min_intent then 1 else 0 end
            as engaged_count
    from account_people
    cross join parameters

),

account_totals as (

    select
        account_id,
        count(*) as people_count,
        sum(engaged_count) as engaged_people,
        sum(intent_score) as intent_points
    from flagged
    group by account_id

),

final as (

    select
        -- ids
        flagged.account_id,
        flagged.person_key,

        -- numerics
        flagged.intent_score as person_intent_score,
        account_totals.people_count,
        account_totals.engaged_people,
        account_totals.intent_points as account_intent_points,
        account_totals.engaged_people - flagged.engaged_count as engaged_colleagues,
        account_totals.intent_points - flagged.intent_score as colleague_intent_points

    from flagged
    inner join account_totals
        on flagged.account_id = account_totals.account_id

)

select * from final
