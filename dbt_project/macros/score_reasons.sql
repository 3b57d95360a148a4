{#- The pieces of score_reasons (lead_scores): every number is in composite points, the units
    of the score the reader sees, so a component's listed points and its remainder add up to
    the component, and the components add up to the score. -#}

{#- An integral number as text: 46, -5. -#}
{% macro int_text(expression) -%}
    cast(cast({{ expression }} as {{ dbt.type_int() }}) as {{ dbt.type_string() }})
{%- endmacro %}

{#- An integral number as signed text: +12, -5, +0. -#}
{% macro signed_int_text(expression) -%}
    {{ dbt.concat([
        "case when " ~ expression ~ " >= 0 then '+' else '' end",
        lead_scoring.int_text(expression),
    ]) }}
{%- endmacro %}

{#- One component: "Fit 46 [Industry: Software +10, Employees 200-999 +10, 5 more +26]".
    listed: its largest contributions as text (NULL: none); listed_points: their sum; more:
    how many contributions are not listed; more_label: the words before the remainder
    (header - listed_points), e.g. "5 more". Brackets only when something is listed or a
    remainder is left: contributions that all round to 0 leave a bare "Intent 0". -#}
{% macro reason_component(label, header, listed, listed_points, more, more_label) -%}
    {%- set rest = '(' ~ header ~ ' - coalesce(' ~ listed_points ~ ', 0))' -%}
    {{ dbt.concat([
        "'" ~ label ~ " '",
        lead_scoring.int_text(header),
        "case when " ~ listed ~ " is null and " ~ rest ~ " = 0 then '' else "
            ~ dbt.concat([
                "' ['",
                "coalesce(" ~ listed ~ ", '')",
                "case when " ~ rest ~ " = 0 and coalesce(" ~ more ~ ", 0) = 0 then '' else "
                    ~ dbt.concat([
                        "case when " ~ listed ~ " is null then '' else ', ' end",
                        more_label,
                        "' '",
                        lead_scoring.signed_int_text(rest),
                    ]) ~ " end",
                "']'",
            ]) ~ " end",
    ]) }}
{%- endmacro %}

{#- The words before a component's remainder: "5 more" for unlisted contributions, or
    "rounding" when every contribution is listed and only rounding is left. -#}
{% macro more_reasons_label(more) -%}
    case
        when coalesce({{ more }}, 0) > 0
            then {{ dbt.concat([lead_scoring.int_text(more), "' more'"]) }}
        else 'rounding'
    end
{%- endmacro %}
