{#- Whether a learned points table is active for this build: var('predictive_model_version')
    pinned (backtests), or a promoted version in ops.model_versions. When none is,
    int_people_predictive_scored compiles to no rows without computing the features view
    (int_people_features, about 4 s of every hour at 100k leads, for nothing). Checked when the
    model is built, so a version promoted after an hourly build counts from the next one.
    Always true while parsing (the refs stay in the graph) and in a unit test (no `this`
    there: the test gives the model_versions rows). -#}
{% macro predictive_version_active(model_versions) -%}
    {%- if var('predictive_model_version', '') or not execute or this is none -%}
        {{ return(true) }}
    {%- endif -%}
    {%- set promoted = run_query("select count(*) from " ~ model_versions ~ " where is_promoted") -%}
    {{ return(promoted.rows[0][0] > 0) }}
{%- endmacro %}
