{#- One row per CRM person with score contributions: the points per component (fit, intent,
    negative; not yet clamped), whether a disqualifying rule matched, and score_reasons: the
    top reasons_count contributions by absolute points (ties by rule_id), signed and rounded,
    with the age of behaviour, joined by '; ' (contributions that round to 0 are left out).
    A view: lead_scores reads it once, and DuckDB plans it inside that query. -#}
with

contributions as (

    select * from {{ ref('int_score_contributions_unioned') }}

),

parameters as (

    select * from {{ ref('int_scoring_parameters_pivoted') }}

),

component_totals as (

    select
        person_id,
        sum(case when component = 'fit' then points else 0 end) as fit_points,
        sum(case when component = 'intent' then points else 0 end) as intent_points,
        sum(case when component = 'negative' then points else 0 end) as negative_points,
        {{ dbt.bool_or('is_disqualifier') }} as has_disqualifier
    from contributions
    group by person_id

),

reason_candidates as (

    select
        contributions.person_id,
        contributions.points,
        contributions.rule_id,
        {{ dbt.concat([
            'contributions.label',
            "' '",
            "case when contributions.points >= 0 then '+' else '' end",
            "cast(cast(round(cast(contributions.points as " ~ dbt.type_numeric() ~ "), 0) as " ~ dbt.type_int() ~ ") as " ~ dbt.type_string() ~ ")",
            "coalesce(" ~ dbt.concat(["' ('", "cast(cast(floor(contributions.age_days) as " ~ dbt.type_int() ~ ") as " ~ dbt.type_string() ~ ")", "'d ago)'"]) ~ ", '')",
        ]) }} as reason_text,
        row_number() over (
            partition by contributions.person_id
            order by abs(contributions.points) desc, contributions.rule_id
        ) as reason_rank
    from contributions
    where round(cast(contributions.points as {{ dbt.type_numeric() }}), 0) <> 0

),

reasons as (

    select
        reason_candidates.person_id,
        {{ lead_scoring.ordered_listagg('reason_candidates.reason_text', '; ', 'reason_candidates.reason_rank') }}
            as score_reasons
    from reason_candidates
    cross join parameters
    where reason_candidates.reason_rank <= parameters.reasons_count
    group by reason_candidates.person_id

),

final as (

    select
        -- ids
        component_totals.person_id,

        -- strings
        reasons.score_reasons,

        -- numerics
        component_totals.fit_points,
        component_totals.intent_points,
        component_totals.negative_points,

        -- booleans
        component_totals.has_disqualifier

    from component_totals
    left join reasons
        on component_totals.person_id = reasons.person_id

)

select * from final
