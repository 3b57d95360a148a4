{#- The contributions a score's reasons list: per merged person (person_key) and component
    (fit, intent, negative), the reasons_count largest by absolute points (a negative one
    ranks by its size; ties by rule_id), with component_reasons, how many non-zero
    contributions the component has. Ranked once per person, not per CRM record (the
    records of a person share its contributions). lead_scores turns their points into
    composite points (after the component's clamp and weight) and writes score_reasons. A
    view, read once by lead_scores. -#}
with

contributions as (

    select * from {{ ref('int_score_contributions_merged') }}

),

parameters as (

    select * from {{ ref('int_scoring_parameters_pivoted') }}

),

ranked as (

    select
        person_key,
        component,
        rule_id,
        label,
        points,
        latest_on,
        row_number() over (
            partition by person_key, component
            order by abs(points) desc, rule_id
        ) as reason_rank,
        count(*) over (partition by person_key, component) as component_reasons
    from contributions
    where points <> 0

),

final as (

    select
        -- ids
        ranked.person_key,
        ranked.rule_id,

        -- strings
        ranked.component,
        ranked.label,

        -- numerics
        ranked.points,
        ranked.latest_on,
        ranked.reason_rank,
        ranked.component_reasons

    from ranked
    cross join parameters
    where ranked.reason_rank <= parameters.reasons_count

)

select * from final
