{#- Win analysis: for every fit attribute value (each value seen for industry, country, title
    seniority and function; each band/technology rule of seeds/fit_rules.csv), every intent
    signal (ever shown before the first opportunity) and every negative rule: people,
    conversions to an opportunity, conversion rate with a 95% Wilson interval, lift over the
    base rate, the smoothed log-odds ratio (with vs without) with its 95% interval, and
    suggested points on the seed's point scale (points_per_log_odds: the slope of the
    component's current points on its log-odds). The suggestion keeps the current points
    unless the interval excludes the log-odds they imply, and then moves them only to the
    nearest end of the interval. Values seen on fewer than var('lift_min_people') people
    get no suggestion. Fitted on everything up to var('as_of'): the backtest fits it on the
    days before the ones it scores (see lead_scoring/backtest/candidate.py). The steps are
    intermediate/outcomes: int_people_attribute_values_unioned (who has which value),
    int_attribute_values_counted (people, conversions, expected conversions),
    int_attribute_lifts_estimated (rates, intervals, lift, log-odds), int_fit_bands_rated and
    int_fit_bands_regressed (the point scale), int_attribute_points_suggested. -#}
{%- set min_people = var('lift_min_people', 30) -%}
with

suggested as (

    select * from {{ ref('int_attribute_points_suggested') }}

),

final as (

    select
        -- strings
        component,
        attribute,
        attribute_value,
        rule_id,
        label,

        -- numerics
        people,
        conversions,
        conversion_rate,
        conversion_rate_lower,
        conversion_rate_upper,
        base_rate,
        lift,
        lift_lower,
        lift_upper,
        log_odds_ratio,
        log_odds_ratio_lower,
        log_odds_ratio_upper,
        expected_conversions,
        excess_log_odds,
        excess_log_odds_lower,
        excess_log_odds_upper,
        fit_points_per_log_odds,
        current_points,
        cast(round(cast(unrounded_suggested_points as {{ dbt.type_numeric() }}), 0) as {{ dbt.type_int() }})
            as suggested_points,

        -- booleans
        rule_id is not null as has_rule,
        people >= {{ min_people }} as has_enough_people,
        (
            conversion_rate_lower > base_rate
            or conversion_rate_upper < base_rate
        ) as is_significant,
        coalesce(
            unrounded_suggested_points is not null
            and cast(round(cast(unrounded_suggested_points as {{ dbt.type_numeric() }}), 0) as {{ dbt.type_int() }})
            <> current_points,
            false
        ) as is_change_suggested

    from suggested

)

select * from final
