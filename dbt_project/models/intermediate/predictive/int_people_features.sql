{#- The learned model's inputs (docs/predictive-scoring.md): one row per person and feature as
    known at as_of, in long form, so the features are discovered from the data instead of
    listed: every value of the person's CRM fields, and one set of features per event type and
    per intent signal that occurs in the activities, whether or not a seed knows it.

    feature names: 'field:<column>' (value_text, a category), 'field:<number column>' and
    'person:days_since_created' (value_number), 'rules:fit|intent|negative' (the seeds'
    points before clamping), 'events:<event type>:<measure>' and 'signal:<signal id>:<measure>'
    with measure count_7d, count_30d, count_90d or days_since_last (value_number), and
    'events:<event type>:<property>:sum_30d|sum_90d', the sums of each numeric property of the
    JSONL events' properties object (time on site, messages, ...).
    A person without a row for a feature has no value: a missing field, or no such event. Counts,
    sums and rule points without a row are 0 (only counts above 0 are written); everything else
    without a row is missing. lead_scoring.model.features reads it the same way.

    Outcome fields (conversion, Lead status, opportunities) are never read here; the training
    leak guard refuses any feature that alone predicts the outcome anyway. Like the rules,
    the features are the merged person's (person_key: fields by survivorship, activities of
    all its records), so the records of one person get one score. -#}
{%- set text_fields = [
    'crm_object', 'lead_source', 'industry', 'country', 'state', 'technologies', 'email_domain',
    'title_seniority', 'title_function',
] -%}
{%- set number_fields = ['number_of_employees', 'annual_revenue'] -%}
{%- set flag_fields = ['has_opted_out_of_email', 'is_do_not_call', 'has_hard_bounced'] -%}
with

people as (

    select * from {{ ref('int_people_deduplicated') }}

),

grouped as (

    select * from {{ ref('int_people_grouped_by_email') }}

),

activities as (

    select * from {{ ref('int_activities_matched_to_people') }}
    {{ lead_scoring.fast_lane_scope('person_key', 'context') }}

),

events as (

    select * from {{ ref('stg_map__events') }}

),

classified_activities as (

    select * from {{ ref('int_activities_classified') }}
    {{ lead_scoring.fast_lane_scope('person_key', 'context') }}

),

contribution_totals as (

    select * from {{ ref('int_people_contributions_summarized') }}

),

field_values as (

    {% for field in text_fields %}
    select
        person_key,
        'field:{{ field }}' as feature,
        cast(trim(cast({{ field }} as {{ dbt.type_string() }})) as {{ dbt.type_string() }}) as value_text,
        cast(null as {{ dbt.type_float() }}) as value_number
    from people
    where trim(cast({{ field }} as {{ dbt.type_string() }})) <> ''
    union all
    {% endfor %}
    select
        person_key,
        'field:title' as feature,
        lower(trim(title)) as value_text,
        cast(null as {{ dbt.type_float() }}) as value_number
    from people
    where trim(title) <> ''
    {% for field in flag_fields %}
    union all
    select
        person_key,
        'field:{{ field }}' as feature,
        case when {{ field }} then 'yes' else 'no' end as value_text,
        cast(null as {{ dbt.type_float() }}) as value_number
    from people
    where {{ field }} is not null
    {% endfor %}
    {% for field in number_fields %}
    union all
    select
        person_key,
        'field:{{ field }}' as feature,
        cast(null as {{ dbt.type_string() }}) as value_text,
        cast({{ field }} as {{ dbt.type_float() }}) as value_number
    from people
    where {{ field }} is not null
    {% endfor %}
    union all
    select
        person_key,
        'person:days_since_created' as feature,
        cast(null as {{ dbt.type_string() }}) as value_text,
        floor({{ lead_scoring.age_in_days('created_at', lead_scoring.as_of()) }}) as value_number
    from people
    where created_at is not null

),

rule_points as (

    {% for component in ['fit', 'intent', 'negative'] %}
    select
        person_key,
        'rules:{{ component }}' as feature,
        cast(null as {{ dbt.type_string() }}) as value_text,
        cast({{ component }}_points as {{ dbt.type_float() }}) as value_number
    from contribution_totals
    where {{ component }}_points <> 0
    {% if not loop.last %}union all{% endif %}
    {% endfor %}

),

activity_ages as (

    select
        person_key,
        {{ dbt.concat(["'events:'", 'event_type']) }} as kind,
        floor({{ lead_scoring.age_in_days('occurred_at', lead_scoring.as_of()) }}) as age_days
    from activities
    where event_type is not null
        and occurred_at <= {{ lead_scoring.as_of() }}
    union all
    select
        person_key,
        {{ dbt.concat(["'signal:'", 'signal_id']) }} as kind,
        floor(age_days) as age_days
    from classified_activities

),

kind_totals as (

    select
        person_key,
        kind,
        sum(case when age_days < 7 then 1 else 0 end) as count_7d,
        sum(case when age_days < 30 then 1 else 0 end) as count_30d,
        sum(case when age_days < 90 then 1 else 0 end) as count_90d,
        min(age_days) as days_since_last
    from activity_ages
    group by person_key, kind

),

event_payloads as (

    -- the JSONL events of the last 90 days, with their properties
    select
        activities.person_key,
        activities.event_type,
        floor({{ lead_scoring.age_in_days('activities.occurred_at', lead_scoring.as_of()) }}) as age_days,
        events.properties_json
    from activities
    inner join events
        on activities.activity_id = events.activity_id
    where activities.activity_source = 'events'
        and activities.event_type is not null
        and activities.occurred_at <= {{ lead_scoring.as_of() }}
        and {{ lead_scoring.age_in_days('activities.occurred_at', lead_scoring.as_of()) }} < 90
        and events.properties_json is not null

),

event_properties as (

    {{ lead_scoring.json_object_properties('event_payloads', 'properties_json') }}

),

property_values as (

    select
        person_key,
        {{ dbt.concat(["'events:'", 'event_type', "':'", 'property_name']) }} as kind,
        age_days,
        {{ dbt.safe_cast('property_text', dbt.type_float()) }} as property_value
    from event_properties

),

property_totals as (

    select
        person_key,
        kind,
        sum(case when age_days < 30 then property_value end) as sum_30d,
        sum(property_value) as sum_90d
    from property_values
    where property_value is not null
    group by person_key, kind

),

kind_measures as (

    {% for measure in ['count_7d', 'count_30d', 'count_90d', 'days_since_last'] %}
    select
        person_key,
        {{ dbt.concat(['kind', "':" ~ measure ~ "'"]) }} as feature,
        cast({{ measure }} as {{ dbt.type_float() }}) as value_number
    from kind_totals
    {%- if measure.startswith('count') %}
    where {{ measure }} > 0
    {%- endif %}
    union all
    {% endfor %}
    {% for measure in ['sum_30d', 'sum_90d'] %}
    select
        person_key,
        {{ dbt.concat(['kind', "':" ~ measure ~ "'"]) }} as feature,
        cast({{ measure }} as {{ dbt.type_float() }}) as value_number
    from property_totals
    where {{ measure }} is not null
    {% if not loop.last %}union all{% endif %}
    {% endfor %}

),

person_features as (

    select * from field_values
    union all
    select
        person_key,
        feature,
        cast(null as {{ dbt.type_string() }}) as value_text,
        value_number
    from kind_measures
    union all
    select * from rule_points

),

final as (

    select
        grouped.person_id,
        person_features.feature,
        person_features.value_text,
        person_features.value_number
    from person_features
    inner join grouped
        on person_features.person_key = grouped.person_key

)

select * from final
