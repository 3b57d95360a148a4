{#- One row per merged person (person_key) and matching fit rule (seeds/fit_rules.csv). -#}
with

people as (

    select * from {{ ref('int_people_deduplicated') }}

),

fit_rules as (

    select * from {{ ref('fit_rules') }}

),

{{ fit_rules_matched(
    'people',
    'person_key',
    {
        'industry': 'industry',
        'country': 'country',
        'title_seniority': 'title_seniority',
        'title_function': 'title_function',
        'technology': 'technologies',
        'lead_source': 'lead_source',
        'state': 'state',
    },
    {'employees': 'number_of_employees', 'annual_revenue': 'annual_revenue'},
) }},

final as (

    select * from matched

)

select * from final
