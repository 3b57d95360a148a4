{#- The scalar knobs of seeds/scoring_parameters.csv as one row with a column each. -#}
{%- set parameters = [
    'fit_weight', 'intent_weight', 'tier1_threshold', 'tier1_min_fit', 'tier2_threshold',
    'tier3_threshold', 'mql_threshold', 'sql_threshold', 'recency_bonus_points',
    'recency_bonus_days', 'grade_a_min_fit', 'grade_b_min_fit', 'grade_c_min_fit',
    'engagement_1_min_intent', 'engagement_2_min_intent', 'engagement_3_min_intent',
    'reasons_count', 'account_bonus_min_engagement', 'account_bonus_weight', 'account_bonus_max_points',
    'predictive_weight',
] -%}
with

scoring_parameters as (

    select * from {{ ref('scoring_parameters') }}

),

pivoted as (

    select
    {%- for parameter in parameters %}
        max(case when parameter = '{{ parameter }}' then value end) as {{ parameter }}{{ ',' if not loop.last }}
    {%- endfor %}
    from scoring_parameters

),

final as (

    select * from pivoted

)

select * from final
