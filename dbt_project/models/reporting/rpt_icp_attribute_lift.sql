{#- Win analysis: for every fit attribute value (each value seen for industry, country, title
    seniority and function; each band/technology rule of seeds/fit_rules.csv), every intent
    signal (ever shown before the first opportunity) and every negative rule: people,
    conversions to an opportunity, conversion rate with a 95% Wilson interval, lift over the
    base rate, and suggested points = the smoothed log-odds ratio (with vs without) scaled
    so the strongest value of its component gets the largest current points of that
    component. Values seen on fewer than var('lift_min_people') people get no suggestion. -#}
{%- set min_people = var('lift_min_people', 30) -%}
{%- set z = 1.96 -%}
with

people_outcomes as (

    select * from {{ ref('int_people_outcomes_joined') }}

),

people as (

    select * from {{ ref('int_people_titles_classified') }}

),

fit_rules as (

    select * from {{ ref('fit_rules') }}

),

fit_rules_matched as (

    select * from {{ ref('int_fit_rules_matched') }}

),

people_grouped as (

    select * from {{ ref('int_people_grouped_by_email') }}

),

negative_rules_matched as (

    select * from {{ ref('int_negative_rules_matched') }}

),

activities_classified as (

    select * from {{ ref('int_activities_classified') }}

),

intent_signals as (

    select * from {{ ref('intent_signals') }}

),

population as (

    select
        crm_id as person_id,
        has_opportunity,
        first_opportunity_at
    from people_outcomes

),

text_values as (

    {%- for attribute in ['industry', 'country', 'title_seniority', 'title_function'] %}
    select
        person_id,
        '{{ attribute }}' as attribute,
        lower(trim({{ attribute }})) as attribute_value
    from people
    where {{ attribute }} is not null and trim({{ attribute }}) <> ''
    {%- if not loop.last %}
    union all
    {%- endif %}
    {%- endfor %}

),

text_values_with_rules as (

    select
        text_values.person_id,
        'fit' as component,
        text_values.attribute,
        text_values.attribute_value,
        fit_rules.rule_id,
        coalesce(fit_rules.label, text_values.attribute_value) as label,
        coalesce(fit_rules.points, 0) as current_points
    from text_values
    left join fit_rules
        on text_values.attribute = fit_rules.attribute
        and fit_rules.operator = 'equals'
        and text_values.attribute_value = lower(fit_rules.match_value)

),

band_values as (

    select
        people_grouped.person_id,
        'fit' as component,
        fit_rules.attribute,
        fit_rules.rule_id as attribute_value,
        fit_rules.rule_id,
        fit_rules.label,
        fit_rules.points as current_points
    from fit_rules_matched
    inner join fit_rules
        on fit_rules_matched.rule_id = fit_rules.rule_id
    inner join people_grouped
        on fit_rules_matched.person_key = people_grouped.person_key
    where fit_rules.operator <> 'equals'

),

signal_values as (

    select distinct
        activities_classified.person_id,
        'intent' as component,
        'intent_signal' as attribute,
        activities_classified.signal_id as attribute_value,
        activities_classified.signal_id as rule_id,
        intent_signals.label,
        intent_signals.points as current_points
    from activities_classified
    inner join intent_signals
        on activities_classified.signal_id = intent_signals.signal_id
    inner join population
        on activities_classified.person_id = population.person_id
    where
        population.first_opportunity_at is null
        or activities_classified.occurred_at <= population.first_opportunity_at

),

negative_values as (

    select
        people_grouped.person_id,
        'negative' as component,
        'negative_rule' as attribute,
        negative_rules_matched.rule_id as attribute_value,
        negative_rules_matched.rule_id,
        negative_rules_matched.label,
        negative_rules_matched.points as current_points
    from negative_rules_matched
    inner join people_grouped
        on negative_rules_matched.person_key = people_grouped.person_key

),

attribute_values as (

    select * from text_values_with_rules
    union all
    select * from band_values
    union all
    select * from signal_values
    union all
    select * from negative_values

),

base as (

    select
        count(*) as total_people,
        sum(case when has_opportunity then 1 else 0 end) as total_conversions
    from population

),

per_value as (

    select
        attribute_values.component,
        attribute_values.attribute,
        attribute_values.attribute_value,
        max(attribute_values.rule_id) as rule_id,
        max(attribute_values.label) as label,
        max(attribute_values.current_points) as current_points,
        count(distinct attribute_values.person_id) as people,
        count(distinct case when population.has_opportunity then attribute_values.person_id end)
            as conversions
    from attribute_values
    inner join population
        on attribute_values.person_id = population.person_id
    group by attribute_values.component, attribute_values.attribute, attribute_values.attribute_value

),

counts as (

    {#- doubles before any arithmetic: Spark computes int + 0.5 in decimals, which truncate -#}
    select
        per_value.*,
        base.total_people,
        base.total_conversions,
        cast(per_value.people as {{ dbt.type_float() }}) as people_float,
        cast(per_value.conversions as {{ dbt.type_float() }}) as conversions_float,
        cast(base.total_people as {{ dbt.type_float() }}) as total_people_float,
        cast(base.total_conversions as {{ dbt.type_float() }}) as total_conversions_float
    from per_value
    cross join base

),

stats as (

    select
        counts.*,
        counts.conversions_float / counts.people_float as conversion_rate,
        counts.total_conversions_float / counts.total_people_float as base_rate,
        ln(
            ((counts.conversions_float + 0.5) / (counts.people_float - counts.conversions_float + 0.5))
            / (
                (counts.total_conversions_float - counts.conversions_float + 0.5)
                / (
                    counts.total_people_float - counts.people_float
                    - counts.total_conversions_float + counts.conversions_float + 0.5
                )
            )
        ) as log_odds_ratio
    from counts

),

intervals as (

    select
        stats.*,
        (
            stats.conversion_rate + {{ z * z }} / (2 * stats.people_float)
            - {{ z }}
            * sqrt(
                stats.conversion_rate * (1 - stats.conversion_rate) / stats.people_float
                + {{ z * z }} / (4 * stats.people_float * stats.people_float)
            )
        ) / (1 + {{ z * z }} / stats.people_float) as conversion_rate_lower,
        (
            stats.conversion_rate + {{ z * z }} / (2 * stats.people_float)
            + {{ z }}
            * sqrt(
                stats.conversion_rate * (1 - stats.conversion_rate) / stats.people_float
                + {{ z * z }} / (4 * stats.people_float * stats.people_float)
            )
        ) / (1 + {{ z * z }} / stats.people_float) as conversion_rate_upper
    from stats

),

scales as (

    select
        case when component = 'intent' then 'intent' else 'fit' end as scale_component,
        max(current_points) as max_points,
        max(log_odds_ratio) as max_log_odds
    from intervals
    where people >= {{ min_people }} and component in ('fit', 'intent') and log_odds_ratio > 0
    group by case when component = 'intent' then 'intent' else 'fit' end

),

final as (

    select
        -- strings
        intervals.component,
        intervals.attribute,
        intervals.attribute_value,
        intervals.rule_id,
        intervals.label,

        -- numerics
        intervals.people,
        intervals.conversions,
        intervals.conversion_rate,
        intervals.conversion_rate_lower,
        intervals.conversion_rate_upper,
        intervals.base_rate,
        intervals.conversion_rate / nullif(intervals.base_rate, 0) as lift,
        intervals.conversion_rate_lower / nullif(intervals.base_rate, 0) as lift_lower,
        intervals.conversion_rate_upper / nullif(intervals.base_rate, 0) as lift_upper,
        intervals.log_odds_ratio,
        intervals.current_points,
        case
            when intervals.people >= {{ min_people }}
                then cast(round(cast(
                        {{ lead_scoring.clamp(
                    'intervals.log_odds_ratio * scales.max_points / nullif(scales.max_log_odds, 0)',
                    "case when intervals.component = 'intent' then 0 else -100 end", 100) }}
                        as {{ dbt.type_numeric() }}
                    ), 0) as {{ dbt.type_int() }})
        end as suggested_points,

        -- booleans
        intervals.rule_id is not null as has_rule,
        intervals.people >= {{ min_people }} as has_enough_people,
        (
            intervals.conversion_rate_lower > intervals.base_rate
            or intervals.conversion_rate_upper < intervals.base_rate
        ) as is_significant

    from intervals
    left join scales
        on case when intervals.component = 'intent' then 'intent' else 'fit' end = scales.scale_component

)

select * from final
