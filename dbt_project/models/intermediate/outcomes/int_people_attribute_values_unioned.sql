{#- The attribute values of every scored person that the win analysis (rpt_icp_attribute_lift)
    weighs, one row per person and value: each value seen for industry, country, state, title
    seniority and function and lead source (with the fit rule of seeds/fit_rules.csv that
    matches it, if any), each band/technology fit rule matched, every intent signal shown
    before the person's first opportunity (int_activities_credited_to_leads), and every
    negative rule matched, with the rule's current points. Activities no intent signal covers
    count too, before the first opportunity, by event type (attribute event_type) and by event
    type and URL without its query (attribute event_url, value '<event type> <url>'), with no
    rule and 0 points: the event types and pages a seed has never heard of. -#}
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

activities_credited as (

    select * from {{ ref('int_activities_credited_to_leads') }}

),

intent_signals as (

    select * from {{ ref('intent_signals') }}

),

population as (

    select
        crm_id as person_id,
        first_opportunity_at
    from people_outcomes

),

text_values as (

    {%- for attribute in ['industry', 'country', 'state', 'title_seniority', 'title_function', 'lead_source'] %}
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

uncovered_activities as (

    select distinct
        activities_credited.person_id,
        activities_credited.event_type,
        activities_credited.url_without_query
    from activities_credited
    inner join population
        on activities_credited.person_id = population.person_id
    where
        activities_credited.signal_id is null
        and activities_credited.event_type is not null
        and (
            population.first_opportunity_at is null
            or activities_credited.occurred_at <= population.first_opportunity_at
        )

),

uncovered_values as (

    select distinct
        person_id,
        'intent' as component,
        'event_type' as attribute,
        event_type as attribute_value,
        cast(null as {{ dbt.type_string() }}) as rule_id,
        event_type as label,
        0 as current_points
    from uncovered_activities
    union all
    select distinct
        person_id,
        'intent' as component,
        'event_url' as attribute,
        {{ dbt.concat(['event_type', "' '", 'url_without_query']) }} as attribute_value,
        cast(null as {{ dbt.type_string() }}) as rule_id,
        {{ dbt.concat(['event_type', "' '", 'url_without_query']) }} as label,
        0 as current_points
    from uncovered_activities
    where url_without_query <> ''

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

final as (

    select * from text_values_with_rules
    union all
    select * from band_values
    union all
    select * from signal_values
    union all
    select * from uncovered_values
    union all
    select * from negative_values

)

select * from final
