{#- One row per person and matching fit rule (seeds/fit_rules.csv). -#}
with

people as (

    select * from {{ ref('int_people_titles_classified') }}

),

fit_rules as (

    select * from {{ ref('fit_rules') }}

),

attributes as (

    {%- set text_attributes = {
        'industry': 'industry',
        'country': 'country',
        'title_seniority': 'title_seniority',
        'title_function': 'title_function',
        'technology': 'technologies',
    } %}
    {%- set numeric_attributes = {
        'employees': 'number_of_employees',
        'annual_revenue': 'annual_revenue',
    } %}
    {%- for attribute, column in text_attributes.items() %}
    select
        person_id,
        '{{ attribute }}' as attribute,
        lower(trim({{ column }})) as text_value,
        cast(null as {{ dbt.type_float() }}) as numeric_value
    from people
    where {{ column }} is not null
    union all
    {%- endfor %}
    {%- for attribute, column in numeric_attributes.items() %}
    select
        person_id,
        '{{ attribute }}' as attribute,
        cast(null as {{ dbt.type_string() }}) as text_value,
        cast({{ column }} as {{ dbt.type_float() }}) as numeric_value
    from people
    where {{ column }} is not null
    {%- if not loop.last %}
    union all
    {%- endif %}
    {%- endfor %}

),

matched as (

    select
        attributes.person_id,
        fit_rules.rule_id,
        fit_rules.label,
        fit_rules.points
    from attributes
    inner join fit_rules
        on attributes.attribute = fit_rules.attribute
        and (
            (fit_rules.operator = 'equals' and attributes.text_value = lower(fit_rules.match_value))
            or (fit_rules.operator = 'contains'
                and {{ dbt.position('lower(fit_rules.match_value)', 'attributes.text_value') }} > 0)
            or (fit_rules.operator = 'between'
                and attributes.numeric_value >= fit_rules.min_value
                and attributes.numeric_value < fit_rules.max_value)
        )

),

final as (

    select * from matched

)

select * from final
