{#- lead_scores' pre-hook: keep the scores a build is about to replace as
    marts.lead_scores_previous, so `leadscore changes` can say who a seed or model change
    moved, even when the build re-scored the same hour (plugins/lead_scoring/changes.py).
    The first build has nothing to keep: the table is dropped and not made. -#}
{% macro keep_previous_scores() -%}
    {%- set previous = api.Relation.create(
        database=this.database, schema=this.schema, identifier='lead_scores_previous', type='table') -%}
    {%- if execute and adapter.get_relation(this.database, this.schema, this.identifier) is not none -%}
        create table {{ previous }} as
        select
            crm_id,
            crm_object,
            composite_score,
            fit_score,
            intent_score,
            negative_score,
            tier,
            tier_label,
            score_reasons,
            scoring_model_version,
            scored_at
        from {{ this }}
    {%- endif -%}
{%- endmacro %}

{% macro drop_previous_scores() -%}
    drop table if exists {{ api.Relation.create(
        database=this.database, schema=this.schema, identifier='lead_scores_previous', type='table') }}
{%- endmacro %}
