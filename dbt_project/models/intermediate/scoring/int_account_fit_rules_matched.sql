{#- One row per account and matching firmographic fit rule (the person-only rules on title
    seniority and function do not apply to accounts). -#}
with

accounts as (

    select * from {{ ref('stg_salesforce__accounts') }}

),

fit_rules as (

    select * from {{ ref('fit_rules') }}

),

{{ fit_rules_matched(
    'accounts',
    'account_id',
    {'industry': 'industry', 'country': 'billing_country', 'technology': 'technologies'},
    {'employees': 'number_of_employees', 'annual_revenue': 'annual_revenue'},
) }},

final as (

    select * from matched

)

select * from final
