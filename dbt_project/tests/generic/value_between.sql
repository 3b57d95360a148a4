{#- Fails for every row whose column is outside [min_value, max_value] (NULLs pass: pair it
    with not_null where they must not occur). Replaces dbt_utils' accepted_range. -#}
{% test value_between(model, column_name, min_value, max_value) %}

with

outside as (

    select {{ column_name }} as value
    from {{ model }}
    where {{ column_name }} < {{ min_value }}
        or {{ column_name }} > {{ max_value }}

),

final as (

    select * from outside

)

select * from final

{% endtest %}
