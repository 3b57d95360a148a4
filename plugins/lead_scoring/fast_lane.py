"""The fast lane: a new hot lead to its owner in about a minute (docs/fast-lane.md).

Every minute (dags/lead_scoring_fast_lane.py, or ``leadscore fast-lane``) the hourly run's own
stages (lead_scoring.pipeline) run as of the minute on what arrived since the last run:
extract the CRM's changes and the MAP files waiting, load them, and stop there when nothing
new arrived. Otherwise validate the new batches, refresh the people and the activity match
(``first_build``), find the people this run touched (``touched``) and score, route and alert
them alone over their rows of the hourly tables (``narrow_build``; the data tests are left
to the hourly run, the GX lead_scores suite still guards the write-back), write back only
them, create their handoff Tasks, and raise the alerts due. The hourly run keeps everyone's
decay current and writes the rest.

Touched: the Leads and Contacts extracted in this run (a new Lead, an edited one), the people
of the Tasks extracted (a rep's response moves the SLA fields) and of the MAP activities
loaded (a demo request), and the Accounts of all of them.
"""

from __future__ import annotations

import logging
import os
from datetime import datetime, timedelta

from lead_scoring import warehouse
from lead_scoring.dbt_runner import run_dbt
from lead_scoring.reverse_etl.sync import last_hourly_write_back
from lead_scoring.run_context import RunContext

log = logging.getLogger(__name__)
# Minutes after the hour in which the fast lane waits for that hour's run (see
# ``hourly_run_pending``); after them it runs anyway, so a stopped hourly DAG never stops it.
GRACE_MINUTES = int(os.environ.get("LEADSCORE_FAST_LANE_GRACE_MINUTES", "15"))

# Hourly models the fast lane does not build: nothing it writes or alerts on reads them (the
# nurture Campaign members are left to the hour; duplicate_people is a table for RevOps). They
# keep the last hourly run's rows until the next one.
SKIPPED_MODELS = ("sync_salesforce__campaign_members", "duplicate_people")

# The narrow build (docs/fast-lane.md#the-narrow-build). First, in the hourly tables, the
# models the touched people are found by (the people, their e-mail groups and the activity
# match, with the kept signals and caps), the routing state that is not per person (the
# reps' availability at the minute, the ledger's round-robin counts), and the hourly views
# outside the narrow build: a view keeps the as_of it was created with.
FIRST_VIEWS = ("config.materialized:view,tag:hourly", "--exclude", "tag:fast_lane")
FIRST_MODELS = (
    "int_people_unified",
    "int_people_grouped_by_email",
    "int_activities_matched_to_people",
    "int_activities_signalled",
    "int_activities_capped",
    "int_reps_availability_evaluated",
    "int_routing_pools_counted",
)
# Then, with the var fast_lane, the models tagged fast_lane over the touched people only, in
# fast_intermediate and fast_marts (dbt_project/macros/fast_lane.sql), and the two ledgers,
# which take the touched people's new rows in the hourly tables.
NARROW_VARS = {"fast_lane": "true"}
LEDGERS = ("lead_score_history", "lead_assignments")
NARROW_SELECT = ("tag:fast_lane", *LEDGERS)
NARROW_SCHEMAS = ("fast_intermediate", "fast_marts")
# The narrow build's tables written over the hourly ones: per table, the column naming the
# record and the scope (int_fast_lane_scope) whose rows are replaced. An Account's owner
# alert waits for the hour (the narrow build does not read every colleague's activity).
MERGED = {
    "lead_scores": ("crm_id", "scored"),
    "account_scores": ("account_id", "account"),
    "lead_routing": ("crm_id", "scored"),
    "lead_sla": ("crm_id", "scored"),
    "owner_alerts_due": ("crm_id", "scored"),
    "sync_salesforce__leads": ("Id", "scored"),
    "sync_salesforce__contacts": ("Id", "scored"),
    "sync_salesforce__accounts": ("Id", "account"),
    "sync_salesforce__tasks": ("WhoId", "scored"),
}
# The hourly table the narrow build reads as the hour left it and does not rebuild.
HOURLY_ONLY = ("intermediate", "int_reps_capacity_evaluated")
TEST_FREE = ["--exclude-resource-type", "test", "--exclude-resource-type", "unit_test"]

# Each raw table whose new batch touches people, and the SQL naming them (``{batches}`` is
# the run's new batch ids). Activities name their person through the activity match, so they
# are read after the dbt build.
TOUCHED_SQL = {
    "raw_salesforce.lead": "select id from raw_salesforce.lead where _batch_id in ({batches})",
    "raw_salesforce.contact": "select id from raw_salesforce.contact where _batch_id in ({batches})",
    "raw_salesforce.task": "select whoid from raw_salesforce.task where _batch_id in ({batches})",
    "raw_map.events": (
        "select matched.person_id from raw_map.events as events "
        "inner join intermediate.int_activities_matched_to_people as matched "
        "on matched.activity_source = 'events' and matched.activity_id = events.event_id "
        "where events._batch_id in ({batches})"
    ),
    "raw_map.marketo_activities": (
        "select matched.person_id from raw_map.marketo_activities as activities "
        "inner join intermediate.int_activities_matched_to_people as matched "
        "on matched.activity_source = 'marketo' "
        "and matched.activity_id = cast(activities.marketoguid as varchar) "
        "where activities._batch_id in ({batches})"
    ),
}


def hourly_run_pending(con, as_of: datetime, grace_minutes: int = GRACE_MINUTES) -> str | None:
    """Why a fast-lane minute waits, or None: in the first ``grace_minutes`` of an hour whose
    hourly run has not written back yet (while an earlier hour's has). A minute built before
    the hour would make the hour a backdated run (the activity match rebuilt in full, and its
    write-back skipping what the minute wrote); the hour carries everything up to it anyway.
    Before any hourly write-back, and after the grace, the fast lane runs."""
    hour = as_of.replace(minute=0, second=0, microsecond=0)
    if as_of - hour >= timedelta(minutes=grace_minutes):
        return None
    latest = last_hourly_write_back(con)
    if latest is None or latest >= hour:
        return None
    until = hour + timedelta(minutes=grace_minutes)
    return (
        f"waiting for the hourly run of {hour:%Y-%m-%d %H:%M} (the last hourly write-back is "
        f"{latest:%Y-%m-%d %H:%M}); the fast lane runs anyway from {until:%H:%M}"
    )


def wait_for_the_hour(ctx: RunContext) -> str | None:
    """``hourly_run_pending`` on the run's warehouse, logged."""
    with warehouse.connect(ctx.settings.warehouse) as con:
        warehouse.ensure_schema(con)
        waiting = hourly_run_pending(con, ctx.as_of)
    if waiting is not None:
        log.info("fast lane %s: %s", ctx.run_id, waiting)
    return waiting


def touched(ctx: RunContext, batch_ids: list[str]) -> set[str]:
    """The CRM ids of the people (and their Accounts) that the run's new batches touched."""
    if not batch_ids:
        return set()
    ids: set[str] = set()
    with warehouse.connect(ctx.settings.warehouse) as con:
        placeholders = ", ".join("?" for _ in batch_ids)
        for table, sql in TOUCHED_SQL.items():
            schema, name = table.split(".")
            if warehouse.table_exists(con, schema, name):
                rows = con.execute(sql.format(batches=placeholders), batch_ids).fetchall()
                ids.update(row[0] for row in rows if row[0] is not None)
        if ids and warehouse.table_exists(con, "marts", "lead_scores"):
            people = ", ".join("?" for _ in ids)
            accounts = con.execute(
                f"select distinct account_id from marts.lead_scores "
                f"where crm_id in ({people}) and account_id is not null",
                sorted(ids),
            ).fetchall()
            ids.update(row[0] for row in accounts)
    return ids


def narrow_ready(con) -> bool:
    """Whether an hourly run has built the tables the narrow build reads and writes over (and
    the two ledgers it adds to); until one has, the fast lane builds the whole hourly graph."""
    needed = [("marts", table) for table in (*MERGED, *LEDGERS)] + [HOURLY_ONLY]
    return all(warehouse.table_exists(con, schema, table) for schema, table in needed)


def can_narrow(ctx: RunContext) -> bool:
    """``narrow_ready`` on the run's warehouse."""
    with warehouse.connect(ctx.settings.warehouse) as con:
        return narrow_ready(con)


def first_build(ctx: RunContext) -> list[dict]:
    """The narrow build's first step (``FIRST_MODELS``), in the hourly tables."""
    return run_dbt(ctx.settings, ["build", "--select", *FIRST_MODELS, *FIRST_VIEWS, *TEST_FREE], ctx.as_of)


def narrow_build(ctx: RunContext, ids: list[str]) -> dict:
    """The touched people scored, routed and alerted over their own rows: ``ids`` into
    ops.fast_lane_touched, the narrow dbt build, then, in one transaction, each ``MERGED``
    table's rows of the scope replaced by the narrow build's. The fast schemas and the ids
    are dropped afterwards, whatever happened: nothing personal stays behind in them."""
    with warehouse.connect(ctx.settings.warehouse) as con:
        warehouse.ensure_schema(con)
        con.execute("create or replace table ops.fast_lane_touched (crm_id varchar)")
        con.executemany("insert into ops.fast_lane_touched values (?)", [[i] for i in ids])
    try:
        args = ["build", "--select", *NARROW_SELECT, *TEST_FREE]
        nodes = run_dbt(ctx.settings, args, ctx.as_of, NARROW_VARS)
        with warehouse.connect(ctx.settings.warehouse) as con:
            scope = {
                name: count
                for name, count in con.execute(
                    "select scope, count(*) from fast_intermediate.int_fast_lane_scope group by scope"
                ).fetchall()
            }
            replaced = merge(con)
    finally:
        with warehouse.connect(ctx.settings.warehouse) as con:
            for schema in NARROW_SCHEMAS:
                con.execute(f"drop schema if exists {schema} cascade")
            con.execute("drop table if exists ops.fast_lane_touched")
    return {
        "nodes": len(nodes),
        "scored_records": scope.get("scored", 0),
        "context_records": scope.get("context", 0),
        "rows_replaced": replaced,
    }


class NarrowBuildMismatch(Exception):
    """An hourly table and the narrow build's copy of it have different columns."""


def merge(con) -> int:
    """Each ``MERGED`` table's rows of its scope replaced by the narrow build's, in one
    transaction; returns the rows written. Tables whose columns differ (models changed since
    the hourly run built them) stop it before anything is written."""
    for table in MERGED:
        hourly = {column.lower() for column in warehouse.table_columns(con, "marts", table)}
        narrow = {column.lower() for column in warehouse.table_columns(con, "fast_marts", table)}
        if hourly != narrow:
            raise NarrowBuildMismatch(
                f"marts.{table} and the fast lane's narrow build differ in columns "
                f"({', '.join(sorted(hourly ^ narrow))}): the models changed since the hourly run "
                "built it; the fast lane writes over it again once the next hourly run has rebuilt it"
            )
    written = 0
    con.execute("begin")
    try:
        for table, (column, scope) in MERGED.items():
            in_scope = (
                f"{column} in (select crm_id from fast_intermediate.int_fast_lane_scope "
                f"where scope = '{scope}')"
            )
            con.execute(f"delete from marts.{table} where {in_scope}")
            written += con.execute(
                f"insert into marts.{table} by name select * from fast_marts.{table} where {in_scope}"
            ).fetchone()[0]
    except Exception:
        con.execute("rollback")
        raise
    con.execute("commit")
    return written
