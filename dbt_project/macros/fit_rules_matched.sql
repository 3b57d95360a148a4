{#- The fit-rule match shared by people and accounts: unpivot `source_cte`'s attributes into
    (id, attribute, text_value, numeric_value) rows (CTE `attributes`) and join them to the
    fit_rules seed (CTE `matched`: id_column, rule_id, label, points). Expects a CTE named
    `fit_rules` selecting from ref('fit_rules'). -#}
{% macro fit_rules_matched(source_cte, id_column, text_attributes, numeric_attributes) -%}
attributes as (

    {%- for attribute, column in text_attributes.items() %}
    select
        {{ id_column }},
        '{{ attribute }}' as attribute,
        lower(trim({{ column }})) as text_value,
        cast(null as {{ dbt.type_float() }}) as numeric_value
    from {{ source_cte }}
    where {{ column }} is not null
    union all
    {%- endfor %}
    {%- for attribute, column in numeric_attributes.items() %}
    select
        {{ id_column }},
        '{{ attribute }}' as attribute,
        cast(null as {{ dbt.type_string() }}) as text_value,
        cast({{ column }} as {{ dbt.type_float() }}) as numeric_value
    from {{ source_cte }}
    where {{ column }} is not null
    {%- if not loop.last %}
    union all
    {%- endif %}
    {%- endfor %}

),

matched as (

    select
        attributes.{{ id_column }},
        fit_rules.rule_id,
        fit_rules.label,
        fit_rules.points
    from attributes
    inner join fit_rules
        on attributes.attribute = fit_rules.attribute
        and (
            (fit_rules.operator = 'equals' and attributes.text_value = lower(fit_rules.match_value))
            or (fit_rules.operator = 'contains'
                and {{ dbt.position('lower(fit_rules.match_value)', 'attributes.text_value') }} > 0)
            or (fit_rules.operator = 'between'
                and attributes.numeric_value >= fit_rules.min_value
                and attributes.numeric_value < fit_rules.max_value)
        )

)
{%- endmacro %}
