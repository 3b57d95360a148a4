{#- scoring_model_version: the label var plus a hash of every scoring seed's content, so each
    score can be traced to the exact rules that produced it. The hashed text is the same on
    every engine: floats through float_text, rows sorted in byte order. -#}
{%- set seeds = {
    'fit_rules': ['rule_id', 'attribute', 'operator', 'match_value', 'min_value', 'max_value', 'points'],
    'title_patterns': ['dimension', 'pattern', 'derived_value', 'priority'],
    'intent_signals': ['signal_id', 'event_type', 'url_pattern', 'priority', 'points', 'half_life_days', 'max_occurrences', 'cap_window_days', 'expiry_days'],
    'sequence_rules': ['sequence_id', 'step_1_signal_id', 'step_2_signal_id', 'step_3_signal_id', 'within_days', 'points', 'half_life_days', 'expiry_days'],
    'negative_rules': ['rule_id', 'rule_type', 'match_value', 'points', 'is_disqualifier'],
    'scoring_parameters': ['parameter', 'value'],
    'email_domain_lists': ['list_name', 'domain'],
    'marketo_activity_types': ['activity_type_id', 'event_type'],
} -%}
{#- The seeds' float (double) columns, see seeds/_seeds.yml. -#}
{%- set float_columns = [
    'min_value', 'max_value', 'points', 'half_life_days', 'cap_window_days', 'expiry_days', 'within_days', 'value',
] -%}
with

{% for seed_name, columns in seeds.items() %}
{{ seed_name }} as (

    select * from {{ ref(seed_name) }}

),

{{ seed_name }}_rows as (

    {%- set cells = [] %}
    {%- for column in columns -%}
            {%- set text = lead_scoring.float_text(column) if column in float_columns
                else "cast(" ~ column ~ " as " ~ dbt.type_string() ~ ")" -%}
    {%- do cells.append("coalesce(" ~ text ~ ", '')") -%}
    {%- if not loop.last %}{% do cells.append("'|'") %}{% endif -%}
    {%- endfor %}
    select
        {{ dbt.concat(["'" ~ seed_name ~ ":'"] + cells) }} as row_text
    from {{ seed_name }}

),

{% endfor %}
all_rows as (

    {% for seed_name in seeds %}
    select row_text from {{ seed_name }}_rows
    {%- if not loop.last %}
    union all
    {%- endif %}
    {% endfor %}

),

hashed as (

    select
        {{ dbt.hash(lead_scoring.ordered_listagg('row_text', '\n', lead_scoring.binary_sort_key('row_text'))) }}
            as seeds_hash
    from all_rows

),

final as (

    select
        {{ dbt.concat(["'" ~ var('scoring_model_label') ~ "-'", "substr(seeds_hash, 1, 10)"]) }}
            as scoring_model_version
    from hashed

)

select * from final
