"""The fast lane: a new hot lead to its owner in about a minute (docs/fast-lane.md).

Every minute (dags/lead_scoring_fast_lane.py, or ``leadscore fast-lane``) the hourly run's own
stages (lead_scoring.pipeline) run as of the minute on what arrived since the last run:
extract the CRM's changes and the MAP files waiting, load them, and stop there when nothing
new arrived. Otherwise validate the new batches, build the hourly models (their data tests
are left to the hourly run; the GX lead_scores suite still guards the write-back), write
back only the people this run touched (``touched``), create their handoff Tasks, and raise
the alerts due. The hourly run keeps everyone's decay current and writes the rest.

Touched: the Leads and Contacts extracted in this run (a new Lead, an edited one), the people
of the Tasks extracted (a rep's response moves the SLA fields) and of the MAP activities
loaded (a demo request), and the Accounts of all of them.
"""

from __future__ import annotations

import logging
import os
from datetime import datetime, timedelta

from lead_scoring import warehouse
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
