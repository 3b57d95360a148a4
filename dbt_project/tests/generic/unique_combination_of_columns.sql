{#- Fails for every combination of `columns` that appears more than once (dbt packages
    cannot be downloaded here, so this replaces dbt_utils' test of the same name). -#}
{% test unique_combination_of_columns(model, columns) %}

with

grouped as (

    select
        {{ columns | join(', ') }},
        count(*) as row_count
    from {{ model }}
    group by {{ columns | join(', ') }}

),

final as (

    select * from grouped
    where row_count > 1

)

select * from final

{% endtest %}
