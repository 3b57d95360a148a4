{#- What the current fit score already predicts: one row per 10-point fit band of the scored
    people (int_win_analysis_population), with their number, mean fit score and conversion
    rate to an opportunity, smoothed (+0.5 / +1) so no band has a rate of 0 or 1. -#}
with

population as (

    select * from {{ ref('int_win_analysis_population') }}

),

fit_bands as (

    select
        floor(fit_score / 10) as fit_band,
        count(*) as people,
        avg(cast(fit_score as {{ dbt.type_float() }})) as mean_fit_score,
        (cast(sum(case when has_opportunity then 1 else 0 end) as {{ dbt.type_float() }}) + 0.5)
        / (cast(count(*) as {{ dbt.type_float() }}) + 1) as band_rate
    from population
    group by floor(fit_score / 10)

),

final as (

    {#- floor() is a double on DuckDB and a bigint on Spark: one type everywhere -#}
    select
        cast(fit_band as {{ dbt.type_int() }}) as fit_band,
        people,
        mean_fit_score,
        band_rate
    from fit_bands

)

select * from final
