{#- Threshold recommendations for seeds/scoring_parameters.csv, from the composite scores
    people were first assigned and what followed:
    target_share: the lowest composite threshold that keeps the people at or above it within
      a cumulative target share (vars target_tier1_share 0.05, target_tier1_2_share 0.20,
      target_tier1_3_share 0.70);
    target_conversion_rate: the lowest threshold whose people at or above it convert at the
      target rate or better (vars target_tier1_conversion_rate 0.20,
      target_tier1_2_conversion_rate 0.12), with at least
      var('threshold_min_people') people.
    Each row carries the capacity check: Tier 1 people per rep per day at the current and
    recommended threshold (inflow = people created in the last var('capacity_window_days')
    days x share at or above the threshold, over the active owners of scored people) against
    var('tier1_capacity_per_rep_per_day'). Disqualified people are left out; Tier 1 also
    needs tier1_min_fit, which these thresholds do not change. The curve per threshold is
    int_score_thresholds_rated. -#}
{%- set target_shares = [
    (1, 'tier1_threshold', var('target_tier1_share', 0.05)),
    (2, 'tier2_threshold', var('target_tier1_2_share', 0.20)),
    (3, 'tier3_threshold', var('target_tier1_3_share', 0.70)),
] -%}
{%- set target_rates = [
    (1, 'tier1_threshold', var('target_tier1_conversion_rate', 0.20)),
    (2, 'tier2_threshold', var('target_tier1_2_conversion_rate', 0.12)),
] -%}
{%- set min_people = var('threshold_min_people', 20) -%}
with

thresholds_rated as (

    select * from {{ ref('int_score_thresholds_rated') }}

),

parameters as (

    select * from {{ ref('int_scoring_parameters_pivoted') }}

),

recommended as (

    {%- for tier, parameter, share in target_shares %}
    select
        'target_share' as method,
        {{ tier }} as tier,
        '{{ parameter }}' as parameter,
        cast({{ share }} as {{ dbt.type_float() }}) as target,
        min(threshold) as recommended_threshold
    from thresholds_rated
    where share_at_or_above <= {{ share }}
    union all
    {%- endfor %}
    {%- for tier, parameter, rate in target_rates %}
    select
        'target_conversion_rate' as method,
        {{ tier }} as tier,
        '{{ parameter }}' as parameter,
        cast({{ rate }} as {{ dbt.type_float() }}) as target,
        min(threshold) as recommended_threshold
    from thresholds_rated
    where conversion_rate_at_or_above >= {{ rate }}
        and people_at_or_above >= {{ min_people }}
    {%- if not loop.last %}
    union all
    {%- endif %}
    {%- endfor %}

),

with_current as (

    select
        recommended.*,
        case recommended.tier
            when 1 then parameters.tier1_threshold
            when 2 then parameters.tier2_threshold
            else parameters.tier3_threshold
        end as current_threshold
    from recommended
    cross join parameters

),

final as (

    select
        -- strings
        with_current.method,
        with_current.parameter,

        -- numerics
        with_current.tier,
        with_current.target,
        with_current.current_threshold,
        with_current.recommended_threshold,
        at_current.share_at_or_above as share_at_current,
        at_recommended.share_at_or_above as share_at_recommended,
        at_current.conversion_rate_at_or_above as conversion_rate_at_current,
        at_recommended.conversion_rate_at_or_above as conversion_rate_at_recommended,
        at_current.people_at_or_above as people_at_current,
        at_recommended.people_at_or_above as people_at_recommended,
        at_current.tier1_per_rep_per_day as tier1_per_rep_per_day_at_current,
        at_recommended.tier1_per_rep_per_day as tier1_per_rep_per_day_at_recommended,
        cast({{ var('tier1_capacity_per_rep_per_day', 5) }} as {{ dbt.type_float() }})
            as tier1_capacity_per_rep_per_day,

        -- booleans
        (
            with_current.tier <> 1
            or coalesce(at_recommended.tier1_per_rep_per_day, 0) <= {{ var('tier1_capacity_per_rep_per_day', 5) }}
        ) as is_within_capacity

    from with_current
    left join thresholds_rated as at_current
        on cast(with_current.current_threshold as {{ dbt.type_int() }}) = at_current.threshold
    left join thresholds_rated as at_recommended
        on with_current.recommended_threshold = at_recommended.threshold

)

select * from final
