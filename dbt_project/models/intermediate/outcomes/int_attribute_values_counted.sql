{#- One row per attribute value of the win analysis (component, attribute, attribute_value):
    its rule and current points, the scored people with it and how many of them got an
    opportunity, the totals over everyone scored (int_win_analysis_population: a Lead sales
    could not contact has no outcome), and expected_conversions: the conversions their fit
    scores alone predict (the sum of their fit bands' rates, int_fit_bands_rated). -#}
with

attribute_values as (

    select * from {{ ref('int_people_attribute_values_unioned') }}

),

fit_bands as (

    select * from {{ ref('int_fit_bands_rated') }}

),

population as (

    select * from {{ ref('int_win_analysis_population') }}

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

person_values as (

    select distinct
        attribute_values.component,
        attribute_values.attribute,
        attribute_values.attribute_value,
        attribute_values.person_id,
        population.has_opportunity,
        fit_bands.band_rate
    from attribute_values
    inner join population
        on attribute_values.person_id = population.person_id
    inner join fit_bands
        on floor(population.fit_score / 10) = fit_bands.fit_band

),

expected as (

    select
        component,
        attribute,
        attribute_value,
        sum(band_rate) as expected_conversions
    from person_values
    group by component, attribute, attribute_value

),

final as (

    select
        per_value.*,
        base.total_people,
        base.total_conversions,
        expected.expected_conversions
    from per_value
    inner join expected
        on per_value.component = expected.component
        and per_value.attribute = expected.attribute
        and per_value.attribute_value = expected.attribute_value
    cross join base

)

select * from final
