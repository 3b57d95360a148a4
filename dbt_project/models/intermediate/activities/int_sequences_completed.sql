{#- Sequence rules (seeds/sequence_rules.csv): a merged person completed a sequence when its
    steps' signals occurred in order (each strictly after the previous one) and the last step
    came within within_days of the first. One row per person and sequence, for the most recent
    completion up to as_of, worth points * 0.5 ^ (age_days / half_life_days) and nothing once
    the completion is older than expiry_days. Steps are signal_ids of seeds/intent_signals.csv
    (every occurrence counts here, before frequency caps and expiry). -#}
{%- set max_steps = 3 -%}
with

activities as (

    select * from {{ ref('int_activities_classified') }}
    {{ lead_scoring.fast_lane_scope('person_key', 'context') }}

),

sequence_rules as (

    select * from {{ ref('sequence_rules') }}

),

chains as (

    select
        sequence_rules.sequence_id,
        step_1.person_key,
        step_1.occurred_at as started_at,
        coalesce(
            {%- for step in range(max_steps, 1, -1) %}
            step_{{ step }}.occurred_at{{ ',' if not loop.last }}
            {%- endfor %}
        ) as completed_at,
        sequence_rules.within_days
    from sequence_rules
    inner join activities as step_1
        on sequence_rules.step_1_signal_id = step_1.signal_id
    inner join activities as step_2
        on step_1.person_key = step_2.person_key
        and sequence_rules.step_2_signal_id = step_2.signal_id
        and step_1.occurred_at < step_2.occurred_at
        and sequence_rules.within_days >= {{ lead_scoring.age_in_days('step_1.occurred_at', 'step_2.occurred_at') }}
    {%- for step in range(3, max_steps + 1) %}
    left join activities as step_{{ step }}
        on step_{{ step - 1 }}.person_key = step_{{ step }}.person_key
        and sequence_rules.step_{{ step }}_signal_id = step_{{ step }}.signal_id
        and step_{{ step - 1 }}.occurred_at < step_{{ step }}.occurred_at
        {%- set last_at = 'step_' ~ step ~ '.occurred_at' %}
        and sequence_rules.within_days >= {{ lead_scoring.age_in_days('step_1.occurred_at', last_at) }}
    {%- endfor %}
    {%- for step in range(3, max_steps + 1) %}
    {{ 'where' if loop.first else '    and' }} (
        sequence_rules.step_{{ step }}_signal_id is null or step_{{ step }}.activity_id is not null
    )
    {%- endfor %}

),

within_window as (

    select
        sequence_id,
        person_key,
        started_at,
        completed_at,
        row_number() over (
            partition by person_key, sequence_id
            order by completed_at desc, started_at desc
        ) as completion_rank
    from chains
    where {{ lead_scoring.age_in_days('started_at', 'completed_at') }} <= within_days

),

aged as (

    select
        within_window.person_key,
        within_window.sequence_id,
        sequence_rules.label,
        sequence_rules.points as base_points,
        sequence_rules.half_life_days,
        sequence_rules.expiry_days,
        within_window.started_at,
        within_window.completed_at,
        {{ lead_scoring.age_in_days('within_window.completed_at', lead_scoring.as_of()) }} as age_days
    from within_window
    inner join sequence_rules
        on within_window.sequence_id = sequence_rules.sequence_id
    where within_window.completion_rank = 1

),

final as (

    select
        person_key,
        sequence_id,
        label,
        base_points,
        half_life_days,
        age_days,
        base_points * power(0.5, age_days / half_life_days) as decayed_points,
        started_at,
        completed_at
    from aged
    where age_days <= expiry_days

)

select * from final
