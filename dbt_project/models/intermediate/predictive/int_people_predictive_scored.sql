{#- The learned points table applied in SQL (docs/predictive-scoring.md): one row per person
    with predictive_score (0-100, the sum of the points of the bins the person's features fall
    in), conversion_probability (the version's calibration of points) and the model's top
    three reasons in composite points (predictive_weight x the bin's points above the
    feature's lowest bin; lead_scores adds the remainder). No row at all when no model version is active: the promoted one
    (ops.model_versions.is_promoted), or var('predictive_model_version') when set (backtests).

    A person's points = the points every feature gives a person without a row for it
    (absent_points: the bin holding absent_value, 0 for counts, else the Missing bin), plus,
    for each row the person has, its bin's points minus that feature's absent_points. Only the
    rows people have are joined, never people x features. Numeric bins hold
    lower_bound <= value < upper_bound; a category the model never saw takes the Unseen bin.
    With no active version the model is built as no rows, without reading the features
    (macros/predictive.sql). -#}
{%- set pinned_version = var('predictive_model_version', '') -%}
{%- if not lead_scoring.predictive_version_active(source('model_store', 'model_versions')) %}

select
    person_id,
    cast(null as {{ dbt.type_string() }}) as predictive_model_version,
    cast(null as {{ dbt.type_string() }}) as predictive_reasons,
    cast(null as {{ dbt.type_float() }}) as predictive_listed_points,
    cast(null as {{ dbt.type_float() }}) as predictive_score,
    cast(null as {{ dbt.type_float() }}) as conversion_probability
from {{ ref('int_people_titles_classified') }}
where 1 = 0
{%- else %}
with

model_versions as (

    select * from {{ source('model_store', 'model_versions') }}

),

model_points as (

    select * from {{ source('model_store', 'model_points') }}

),

model_bin_values as (

    select * from {{ source('model_store', 'model_bin_values') }}

),

people as (

    select * from {{ ref('int_people_titles_classified') }}

),

features as (

    select * from {{ ref('int_people_features') }}

),

parameters as (

    select * from {{ ref('int_scoring_parameters_pivoted') }}

),

active_version as (

    select
        version_id,
        calibration_slope,
        calibration_intercept
    from model_versions
    {%- if pinned_version %}
    where version_id = '{{ pinned_version }}'
    {%- else %}
    where is_promoted
    {%- endif %}

),

points as (

    select model_points.*
    from model_points
    inner join active_version
        on model_points.version_id = active_version.version_id

),

bin_values as (

    select model_bin_values.*
    from model_bin_values
    inner join active_version
        on model_bin_values.version_id = active_version.version_id

),

value_bins as (

    select
        points.feature,
        points.bin_index,
        points.bin_label,
        points.lower_bound,
        points.upper_bound,
        points.points
    from points
    where points.bin_label not in ('Missing', 'Special', 'Unseen')

),

model_features as (

    select
        feature,
        {{ dbt.bool_or('is_categorical') }} as is_categorical,
        max(absent_value) as absent_value,
        min(case when bin_label <> 'Special' then points end) as lowest_points
    from points
    group by feature

),

absent_points as (

    select
        model_features.feature,
        model_features.lowest_points,
        coalesce(value_bins.points, missing_bins.points) as points
    from model_features
    left join value_bins
        on model_features.absent_value is not null
        and model_features.feature = value_bins.feature
        and (value_bins.lower_bound is null or model_features.absent_value >= value_bins.lower_bound)
        and (value_bins.upper_bound is null or model_features.absent_value < value_bins.upper_bound)
    left join points as missing_bins
        on model_features.absent_value is null
        and model_features.feature = missing_bins.feature
        and missing_bins.bin_label = 'Missing'

),

numeric_rows as (

    select
        features.person_id,
        features.feature,
        value_bins.bin_label,
        value_bins.points
    from features
    inner join model_features
        on features.feature = model_features.feature
        and not model_features.is_categorical
    inner join value_bins
        on features.feature = value_bins.feature
        and (value_bins.lower_bound is null or features.value_number >= value_bins.lower_bound)
        and (value_bins.upper_bound is null or features.value_number < value_bins.upper_bound)

),

categorical_rows as (

    select
        features.person_id,
        features.feature,
        coalesce(seen_bins.bin_label, unseen_bins.bin_label) as bin_label,
        coalesce(seen_bins.points, unseen_bins.points) as points
    from features
    inner join model_features
        on features.feature = model_features.feature
        and model_features.is_categorical
    left join bin_values
        on features.feature = bin_values.feature
        and features.value_text = bin_values.value_text
    left join points as seen_bins
        on bin_values.feature = seen_bins.feature
        and bin_values.bin_index = seen_bins.bin_index
    left join points as unseen_bins
        on features.feature = unseen_bins.feature
        and unseen_bins.bin_label = 'Unseen'

),

person_rows as (

    select * from numeric_rows
    union all
    select * from categorical_rows

),

person_deltas as (

    select
        person_rows.person_id,
        sum(person_rows.points - absent_points.points) as delta_points
    from person_rows
    inner join absent_points
        on person_rows.feature = absent_points.feature
    group by person_rows.person_id

),

reason_candidates as (

    select
        person_rows.person_id,
        person_rows.feature,
        person_rows.bin_label,
        {{ lead_scoring.round_to(
            'parameters.predictive_weight * (person_rows.points - absent_points.lowest_points)', 0) }}
            as composite_points,
        row_number() over (
            partition by person_rows.person_id
            order by person_rows.points - absent_points.lowest_points desc, person_rows.feature
        ) as reason_rank
    from person_rows
    inner join absent_points
        on person_rows.feature = absent_points.feature
    cross join parameters

),

reasons as (

    select
        person_id,
        {{ lead_scoring.ordered_listagg(
            dbt.concat(['feature', "' '", 'bin_label', "' '", lead_scoring.signed_int_text('composite_points')]),
            ', ', 'reason_rank') }} as predictive_reasons,
        sum(composite_points) as predictive_listed_points
    from reason_candidates
    where reason_rank <= 3
        and composite_points > 0
    group by person_id

),

base as (

    select sum(points) as base_points
    from absent_points

),

scored as (

    select
        people.person_id,
        active_version.version_id as predictive_model_version,
        base.base_points + coalesce(person_deltas.delta_points, 0) as predictive_points,
        active_version.calibration_slope,
        active_version.calibration_intercept
    from people
    cross join active_version
    cross join base
    left join person_deltas
        on people.person_id = person_deltas.person_id

),

final as (

    select
        -- ids
        scored.person_id,

        -- strings
        scored.predictive_model_version,
        reasons.predictive_reasons,

        -- numerics
        coalesce(reasons.predictive_listed_points, 0) as predictive_listed_points,
        {{ lead_scoring.round_to(lead_scoring.clamp('scored.predictive_points', 0, 100), 0) }} as predictive_score,
        {{ lead_scoring.round_to(
            '1.0 / (1.0 + exp(-(scored.calibration_slope * scored.predictive_points + scored.calibration_intercept)))',
            4) }} as conversion_probability

    from scored
    left join reasons
        on scored.person_id = reasons.person_id

)

select * from final
{%- endif %}
