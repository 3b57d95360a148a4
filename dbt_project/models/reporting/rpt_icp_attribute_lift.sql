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
    days before the ones it scores (see lead_scoring/backtest/candidate.py). -#}
{%- set min_people = var('lift_min_people', 30) -%}
{%- set z = 1.96 -%}
with

people_outcomes as (

    select * from {{ ref('int_people_outcomes_joined') }}

),

people as (

    select * from {{ ref('int_people_titles_classified') }}

),

fit_rules as (

    select * from {{ ref('fit_rules') }}

),

fit_rules_matched as (

    select * from {{ ref('int_fit_rules_matched') }}

),

people_grouped as (

    select * from {{ ref('int_people_grouped_by_email') }}

),

negative_rules_matched as (

    select * from {{ ref('int_negative_rules_matched') }}

),

activities_classified as (

    select * from {{ ref('int_activities_classified') }}

),

intent_signals as (

    select * from {{ ref('intent_signals') }}

),

leads as (

    select * from {{ ref('stg_salesforce__leads') }}

),

population as (

    select
        crm_id as person_id,
        fit_score,
        has_opportunity,
        first_opportunity_at
    from people_outcomes

),

text_values as (

    {%- for attribute in ['industry', 'country', 'title_seniority', 'title_function'] %}
    select
        person_id,
        '{{ attribute }}' as attribute,
        lower(trim({{ attribute }})) as attribute_value
    from people
    where {{ attribute }} is not null and trim({{ attribute }}) <> ''
    {%- if not loop.last %}
    union all
    {%- endif %}
    {%- endfor %}

),

text_values_with_rules as (

    select
        text_values.person_id,
        'fit' as component,
        text_values.attribute,
        text_values.attribute_value,
        fit_rules.rule_id,
        coalesce(fit_rules.label, text_values.attribute_value) as label,
        coalesce(fit_rules.points, 0) as current_points
    from text_values
    left join fit_rules
        on text_values.attribute = fit_rules.attribute
        and fit_rules.operator = 'equals'
        and text_values.attribute_value = lower(fit_rules.match_value)

),

band_values as (

    select
        people_grouped.person_id,
        'fit' as component,
        fit_rules.attribute,
        fit_rules.rule_id as attribute_value,
        fit_rules.rule_id,
        fit_rules.label,
        fit_rules.points as current_points
    from fit_rules_matched
    inner join fit_rules
        on fit_rules_matched.rule_id = fit_rules.rule_id
    inner join people_grouped
        on fit_rules_matched.person_key = people_grouped.person_key
    where fit_rules.operator <> 'equals'

),

converted_contacts as (

    {#- A converted Lead's activities are matched to the Contact it became (on the demo, all
        of its Marketo-only ones: e-mail, webinar, event), but the outcome stays on the Lead
        and that Contact is left out of the population: credit them back to the Lead, or
        those signals look like signals of not converting. -#}
    select distinct
        converted_contact_id as contact_id,
        lead_id
    from leads
    where converted_contact_id is not null

),

activities_credited as (

    select
        coalesce(converted_contacts.lead_id, activities_classified.person_id) as person_id,
        activities_classified.signal_id,
        activities_classified.occurred_at
    from activities_classified
    left join converted_contacts
        on activities_classified.person_id = converted_contacts.contact_id

),

signal_values as (

    select distinct
        activities_credited.person_id,
        'intent' as component,
        'intent_signal' as attribute,
        activities_credited.signal_id as attribute_value,
        activities_credited.signal_id as rule_id,
        intent_signals.label,
        intent_signals.points as current_points
    from activities_credited
    inner join intent_signals
        on activities_credited.signal_id = intent_signals.signal_id
    inner join population
        on activities_credited.person_id = population.person_id
    where
        population.first_opportunity_at is null
        or activities_credited.occurred_at <= population.first_opportunity_at

),

negative_values as (

    select
        people_grouped.person_id,
        'negative' as component,
        'negative_rule' as attribute,
        negative_rules_matched.rule_id as attribute_value,
        negative_rules_matched.rule_id,
        negative_rules_matched.label,
        negative_rules_matched.points as current_points
    from negative_rules_matched
    inner join people_grouped
        on negative_rules_matched.person_key = people_grouped.person_key

),

attribute_values as (

    select * from text_values_with_rules
    union all
    select * from band_values
    union all
    select * from signal_values
    union all
    select * from negative_values

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

counts as (

    {#- doubles before any arithmetic: Spark computes int + 0.5 in decimals, which truncate -#}
    select
        per_value.*,
        base.total_people,
        base.total_conversions,
        cast(per_value.people as {{ dbt.type_float() }}) as people_float,
        cast(per_value.conversions as {{ dbt.type_float() }}) as conversions_float,
        cast(base.total_people as {{ dbt.type_float() }}) as total_people_float,
        cast(base.total_conversions as {{ dbt.type_float() }}) as total_conversions_float
    from per_value
    cross join base

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

fit_bands as (

    {#- What the current fit score already predicts: the conversion rate per 10-point fit
        band (+0.5 / +1 smoothed, so no band has a rate of 0 or 1). -#}
    select
        floor(fit_score / 10) as fit_band,
        count(*) as people,
        avg(cast(fit_score as {{ dbt.type_float() }})) as mean_fit_score,
        (cast(sum(case when has_opportunity then 1 else 0 end) as {{ dbt.type_float() }}) + 0.5)
        / (cast(count(*) as {{ dbt.type_float() }}) + 1) as band_rate
    from population
    group by floor(fit_score / 10)

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

exchange_rate as (

    {#- The seed's point scale, read from the score itself: the people-weighted slope of the
        fit bands' log-odds of converting on their mean fit score (log-odds per fit point);
        its inverse is how many points one unit of log-odds is worth. Intent points count
        in the composite with intent_weight instead of fit_weight. -#}
    select
        case
            when (sum_xy * total_weight - sum_x * sum_y) > 0
                then (sum_xx * total_weight - sum_x * sum_x) / (sum_xy * total_weight - sum_x * sum_y)
        end as fit_points_per_log_odds
    from fit_slope_terms

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

excess as (

    {#- Observed against expected conversions of the people with the value, given their fit
        score: ln((O + 0.5) / (E + 0.5)) is the log-odds the value adds (or removes) beyond
        what its current points and the correlated attributes already give; its 95%
        interval from the Poisson error of O. Attributes that only ride along with a
        weighted one (revenue with company size) have O close to E. -#}
    select
        intervals.*,
        expected.expected_conversions,
        ln((intervals.conversions_float + 0.5) / (expected.expected_conversions + 0.5)) as excess_log_odds,
        {{ z }} / sqrt(intervals.conversions_float + 0.5) as excess_half_width,
        exchange_rate.fit_points_per_log_odds
    from intervals
    inner join expected
        on intervals.component = expected.component
        and intervals.attribute = expected.attribute
        and intervals.attribute_value = expected.attribute_value
    cross join exchange_rate

),

suggestions as (

    {#- Fit and negative rules: keep the current points unless the excess interval excludes 0;
        then move them by its nearest end (the smallest change the data asks for). Intent
        signals: their points act through decay, caps and expiry, and an "ever shown" lift
        is not on that scale, so only the sign is checked: a signal with points whose people
        convert below the base rate (rate interval under it) is suggested 0 points. -#}
    select
        excess.*,
        excess.excess_log_odds - excess.excess_half_width as excess_log_odds_lower,
        excess.excess_log_odds + excess.excess_half_width as excess_log_odds_upper,
        case
            when excess.people < {{ min_people }} then null
            when excess.component = 'intent'
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

clamped as (

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
        conversion_rate / nullif(base_rate, 0) as lift,
        conversion_rate_lower / nullif(base_rate, 0) as lift_lower,
        conversion_rate_upper / nullif(base_rate, 0) as lift_upper,
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

    from clamped

)

select * from final
