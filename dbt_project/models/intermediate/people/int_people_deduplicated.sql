{#- One row per person_key: the merged person every rule scores. Each attribute comes from the
    first record of the group, in survivor order, that has it (field-level survivorship);
    opt-outs and hard bounces hold when any record has them; created_at is the earliest.

    Most people are one CRM record (duplicate_count = 1): their row is the record itself, so
    only the records of duplicate groups go through the survivorship windows and grouping
    (a few percent of the rows). -#}
{%- set survivor_columns = [
    'crm_object', 'account_id', 'owner_id', 'email', 'email_domain', 'title', 'title_seniority',
    'title_function', 'industry', 'country', 'state', 'technologies', 'lead_source',
    'number_of_employees', 'annual_revenue',
] -%}
with

people as (

    select * from {{ ref('int_people_titles_classified') }}

),

grouped as (

    select * from {{ ref('int_people_grouped_by_email') }}

),

keyed as (

    select
        people.*,
        grouped.person_key,
        grouped.survivor_rank,
        grouped.duplicate_count
    from people
    inner join grouped
        on people.person_id = grouped.person_id

),

singles as (

    select
        person_key,
        {%- for column in survivor_columns %}
        {{ column }},
        {%- endfor %}
        duplicate_count,
        has_opted_out_of_email,
        is_do_not_call,
        has_hard_bounced,
        is_converted as has_converted_record,
        created_at
    from keyed
    where duplicate_count = 1

),

ranked as (

    select
        {%- for column in survivor_columns %}
        min(case when keyed.{{ column }} is not null then keyed.survivor_rank end)
            over (partition by keyed.person_key) as {{ column }}_rank,
        {%- endfor %}
        keyed.*
    from keyed
    where keyed.duplicate_count > 1

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

    select * from singles
    union all
    select * from merged

)

select * from final
