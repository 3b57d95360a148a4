{#- One row per person_key: the merged person every rule scores. Each attribute comes from the
    first record of the group, in survivor order, that has it (field-level survivorship);
    opt-outs and hard bounces hold when any record has them; created_at is the earliest. -#}
{%- set survivor_columns = [
    'crm_object', 'account_id', 'owner_id', 'email', 'email_domain', 'title', 'title_seniority',
    'title_function', 'industry', 'country', 'state', 'technologies', 'number_of_employees',
    'annual_revenue',
] -%}
with

people as (

    select * from {{ ref('int_people_titles_classified') }}

),

grouped as (

    select * from {{ ref('int_people_grouped_by_email') }}

),

ranked as (

    select
        people.*,
        grouped.person_key,
        grouped.survivor_rank,
        {%- for column in survivor_columns %}
        min(case when people.{{ column }} is not null then grouped.survivor_rank end)
            over (partition by grouped.person_key) as {{ column }}_rank,
        {%- endfor %}
        grouped.duplicate_count
    from people
    inner join grouped
        on people.person_id = grouped.person_id

),

merged as (

    select
        person_key,
        {%- for column in survivor_columns %}
        max(case when survivor_rank = {{ column }}_rank then {{ column }} end) as {{ column }},
        {%- endfor %}
        max(duplicate_count) as duplicate_count,
        {{ dbt.bool_or('has_opted_out_of_email') }} as has_opted_out_of_email,
        {{ dbt.bool_or('is_do_not_call') }} as is_do_not_call,
        {{ dbt.bool_or('has_hard_bounced') }} as has_hard_bounced,
        {{ dbt.bool_or('is_converted') }} as has_converted_record,
        min(created_at) as created_at
    from ranked
    group by person_key

),

final as (

    select * from merged

)

select * from final
