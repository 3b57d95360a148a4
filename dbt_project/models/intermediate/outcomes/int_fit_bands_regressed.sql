{#- The seed's point scale, read from the score itself (one row): the people-weighted slope of
    the fit bands' log-odds of converting on their mean fit score (log-odds per fit point);
    its inverse, fit_points_per_log_odds, is how many points one unit of log-odds is worth.
    NULL when the slope is not positive. Intent points count in the composite with
    intent_weight instead of fit_weight. -#}
with

fit_bands as (

    select * from {{ ref('int_fit_bands_rated') }}

),

band_logits as (

    select
        fit_band,
        people,
        band_rate,
        mean_fit_score,
        cast(people as {{ dbt.type_float() }}) as weight,
        ln(band_rate / (1 - band_rate)) as band_log_odds
    from fit_bands

),

fit_slope_terms as (

    select
        sum(weight) as total_weight,
        sum(weight * mean_fit_score) as sum_x,
        sum(weight * band_log_odds) as sum_y,
        sum(weight * mean_fit_score * mean_fit_score) as sum_xx,
        sum(weight * mean_fit_score * band_log_odds) as sum_xy
    from band_logits

),

final as (

    select
        case
            when (sum_xy * total_weight - sum_x * sum_y) > 0
                then (sum_xx * total_weight - sum_x * sum_x) / (sum_xy * total_weight - sum_x * sum_y)
        end as fit_points_per_log_odds
    from fit_slope_terms

)

select * from final
