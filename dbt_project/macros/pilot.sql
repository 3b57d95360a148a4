{#- The A/B pilot's challenger, as lead_scores reads it (docs/scoring.md, "Pilot"): none
    unless this is the champion build (no var schema_prefix), a pilot is active in ops.pilots
    and its challenger was built this run into pilot_marts.lead_scores by the pilot stage
    before this build (plugins/lead_scoring/versions/pilot.py). Returns the pilot id, the
    assignment and challenger relations and the challenger's columns. -#}
{% macro pilot_challenger() -%}
    {#- (no `this` in a unit test: never a pilot there) -#}
    {%- if not execute or this is none or var('schema_prefix', '') != '' -%}
        {{ return(none) }}
    {%- endif -%}
    {%- set pilots = adapter.get_relation(this.database, 'ops', 'pilots') -%}
    {%- set assignments = adapter.get_relation(this.database, 'ops', 'pilot_assignments') -%}
    {%- set scores = adapter.get_relation(this.database, 'pilot_marts', 'lead_scores') -%}
    {%- if pilots is none or assignments is none or scores is none -%}
        {{ return(none) }}
    {%- endif -%}
    {%- set active = run_query("select pilot_id from " ~ pilots ~ " where status = 'active'") -%}
    {%- if active.rows | length == 0 -%}
        {{ return(none) }}
    {%- endif -%}
    {%- set columns = [] -%}
    {%- for column in adapter.get_columns_in_relation(scores) -%}
        {%- if column.name not in lead_scoring.pilot_columns() -%}
            {%- do columns.append(column.name) -%}
        {%- endif -%}
    {%- endfor -%}
    {{ return({
        'pilot_id': active.rows[0][0],
        'assignments': assignments,
        'scores': scores,
        'columns': columns,
    }) }}
{%- endmacro %}

{#- The columns lead_scores adds for the pilot (null outside a pilot member). -#}
{% macro pilot_columns() -%}
    {{ return(['pilot_id', 'pilot_arm', 'champion_composite_score', 'champion_tier',
               'challenger_composite_score', 'challenger_tier']) }}
{%- endmacro %}
