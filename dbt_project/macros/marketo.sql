{#- The canonical event type of a Marketo activity: its type's row in
    seeds/marketo_activity_types.csv, else 'unknown:<activity type id>' (scored 0, visible to
    data quality). One rule for int_activities_unioned and int_activities_matched_to_people. -#}
{% macro marketo_event_type(activity_type_id, mapped_event_type) -%}
    coalesce(
        {{ mapped_event_type }},
        {{ dbt.concat(["'unknown:'", "cast(" ~ activity_type_id ~ " as " ~ dbt.type_string() ~ ")"]) }}
    )
{%- endmacro %}
