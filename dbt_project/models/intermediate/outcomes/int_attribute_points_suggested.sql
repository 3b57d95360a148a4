{#- Suggested points per attribute value of the win analysis, on the seed's point scale
    (int_fit_bands_regressed). The suggestion keeps the current points unless the excess
    log-odds interval (what the value adds beyond what the people's fit scores predict)
    excludes 0, and then moves them only by its nearest end; clamped to -100..100 (intent:
    0..100). Values seen on fewer than var('lift_min_people') people get no suggestion. -#}
{%- set min_people = var('lift_min_people', 30) -%}
{%- set z = 1.96 -%}
with

lifts as (

    select * from {{ ref('int_attribute_lifts_estimated') }}

),

exchange_rate as (

    select * from {{ ref('int_fit_bands_regressed') }}

),

excess as (

    {#- Observed against expected conversions of the people with the value, given their fit
        score: ln((O + 0.5) / (E + 0.5)) is the log-odds the value adds (or removes) beyond
        what its current points and the correlated attributes already give; its 95%
        interval from the Poisson error of O. Attributes that only ride along with a
        weighted one (revenue with company size) have O close to E. -#}
    select
        lifts.*,
        ln((lifts.conversions_float + 0.5) / (lifts.expected_conversions + 0.5)) as excess_log_odds,
        {{ z }} / sqrt(lifts.conversions_float + 0.5) as excess_half_width,
        exchange_rate.fit_points_per_log_odds
    from lifts
    cross join exchange_rate

),

suggestions as (

    {#- Fit and negative rules: keep the current points unless the excess interval excludes 0;
        then move them by its nearest end (the smallest change the data asks for). Intent
        signals: their points act through decay, caps and expiry, and an "ever shown" lift
        is not on that scale, so only the sign is checked: a signal with points whose people
        convert below the base rate (rate interval under it) is suggested 0 points. Event
        types and pages no signal covers (no rule yet) get the fit formula from 0 points, as
        the starting points of a new signal (clamped to 0..100 below). -#}
    select
        excess.*,
        excess.excess_log_odds - excess.excess_half_width as excess_log_odds_lower,
        excess.excess_log_odds + excess.excess_half_width as excess_log_odds_upper,
        case
            when excess.people < {{ min_people }} then null
            when excess.component = 'intent' and excess.rule_id is not null
                then case
                        when excess.current_points > 0 and excess.conversion_rate_upper < excess.base_rate then 0
                        else excess.current_points
                    end
            when excess.fit_points_per_log_odds is null then null
            when excess.excess_log_odds - excess.excess_half_width > 0
                then excess.current_points
                    + (excess.excess_log_odds - excess.excess_half_width) * excess.fit_points_per_log_odds
            when excess.excess_log_odds + excess.excess_half_width < 0
                then excess.current_points
                    + (excess.excess_log_odds + excess.excess_half_width) * excess.fit_points_per_log_odds
            else excess.current_points
        end as raw_suggested_points
    from excess

),

final as (

    {#- greatest/least skip NULLs on DuckDB and Postgres: no suggestion stays NULL -#}
    select
        suggestions.*,
        case
            when suggestions.raw_suggested_points is not null
                then {{ lead_scoring.clamp(
                    'suggestions.raw_suggested_points',
                    "case when suggestions.component = 'intent' then 0 else -100 end", 100) }}
        end as unrounded_suggested_points
    from suggestions

)

select * from final
