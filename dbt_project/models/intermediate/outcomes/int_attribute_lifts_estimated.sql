{#- Per attribute value of the win analysis: conversion_rate with its 95% Wilson interval,
    base_rate, lift = rate / base rate (with the interval's ends over the base rate), and
    the log-odds ratio of converting with vs without the value, +0.5 smoothed in every cell
    (Haldane), with its 95% interval. -#}
{%- set z = 1.96 -%}
with

counted as (

    select * from {{ ref('int_attribute_values_counted') }}

),

counts as (

    {#- doubles before any arithmetic: Spark computes int + 0.5 in decimals, which truncate -#}
    select
        counted.*,
        cast(counted.people as {{ dbt.type_float() }}) as people_float,
        cast(counted.conversions as {{ dbt.type_float() }}) as conversions_float,
        cast(counted.total_people as {{ dbt.type_float() }}) as total_people_float,
        cast(counted.total_conversions as {{ dbt.type_float() }}) as total_conversions_float
    from counted

),

stats as (

    {#- 2x2 table per value: with/without x converted/not, +0.5 in every cell (Haldane) so a
        value nobody (or everybody) with it converted still has a finite log-odds ratio -#}
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
        ) as log_odds_ratio,
        sqrt(
            1 / (counts.conversions_float + 0.5)
            + 1 / (counts.people_float - counts.conversions_float + 0.5)
            + 1 / (counts.total_conversions_float - counts.conversions_float + 0.5)
            + 1 / (
                counts.total_people_float - counts.people_float
                - counts.total_conversions_float + counts.conversions_float + 0.5
            )
        ) as log_odds_ratio_standard_error
    from counts

),

intervals as (

    select
        stats.*,
        stats.log_odds_ratio - {{ z }} * stats.log_odds_ratio_standard_error as log_odds_ratio_lower,
        stats.log_odds_ratio + {{ z }} * stats.log_odds_ratio_standard_error as log_odds_ratio_upper,
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

final as (

    select
        intervals.*,
        intervals.conversion_rate / nullif(intervals.base_rate, 0) as lift,
        intervals.conversion_rate_lower / nullif(intervals.base_rate, 0) as lift_lower,
        intervals.conversion_rate_upper / nullif(intervals.base_rate, 0) as lift_upper
    from intervals

)

select * from final
