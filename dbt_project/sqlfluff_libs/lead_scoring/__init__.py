"""Stand-ins for this project's macros (macros/*.sql) when SQLFluff renders models with its
jinja templater: every macro renders as a function call over its arguments (string literals
quoted where the macro takes a literal), and as_of() as a timestamp literal, so the rendered
SQL parses. The real macros run in dbt; this only serves the linter."""


def as_of():
    return "timestamp '2026-01-01 00:00:00'"


def ordered_listagg(measure, delimiter, order_by):
    return f"string_agg({measure}, '{delimiter}' order by {order_by})"


def weighted_round_robin(prefix, pool_leads, pool_reps, prior_counts, max_slots):
    # the real macro renders several CTEs ending in <prefix>_assigned
    return (
        f"{prefix}_assigned as (select {pool_leads}.crm_id from {pool_leads}"
        f" cross join {pool_reps} cross join {prior_counts})"
    )


def pool_round_robin(
    prefix, pool_leads, pool_members, rep_capacity, earlier_assignments, prior_counts, max_slots
):
    # the real macro renders several CTEs ending in <prefix>_routed (the step's output columns)
    earlier = "".join(f" cross join {step}" for step in earlier_assignments)
    return (
        f"{prefix}_routed as (select {pool_leads}.crm_id, {pool_leads}.routing_pool,"
        f" {rep_capacity}.rep_id, 0.0 as slot_position, 0 as prior_assignments, 0 as pool_rep_count,"
        f" {rep_capacity}.round_robin_weight from {pool_leads}"
        f" cross join {pool_members} cross join {rep_capacity}{earlier} cross join {prior_counts})"
    )


def json_object_properties(relation, json_column):
    # the real macro renders a select of the relation's columns and one row per property
    return (
        f"select {relation}.*, 'name' as property_name, cast({json_column} as varchar) as property_text"
        f" from {relation}"
    )


def stg_map_marketo_activities_columns(rows):
    # the real macro selects the staging columns of a raw MAP table (macros/map_staging.sql)
    return f"select marketoguid as activity_id, _batch_id as batch_id from {rows}"


def stg_map_events_columns(rows):
    return f"select event_id as activity_id, _batch_id as batch_id from {rows}"


def map_newest_copies(rows):
    return f"select * from ({rows}) as copies"


def pilot_challenger():
    # the real macro returns the active pilot's relations, or none without a pilot: render
    # the pilot branch so the linter checks it
    return {
        "pilot_id": "p1",
        "assignments": "ops.pilot_assignments",
        "scores": "pilot_marts.lead_scores",
        "columns": ["crm_id", "composite_score", "tier", "scored_at"],
    }


def fast_lane_narrow():
    return True


def fast_lane_scope(column, scope="context"):
    # the narrow build's filter (macros/fast_lane.sql), so the linter checks it
    return f"where {column} in (select crm_id from fast_intermediate.int_fast_lane_scope where scope = '{scope}')"


def __getattr__(name):
    return lambda *args, **kwargs: f"{name}(" + ", ".join(str(arg) for arg in args) + ")"
