"""SLA stages: the hourly ``alert_sla`` task and the 5-minute ``lead_sla_monitor`` DAG.

A 5-minute SLA cannot wait for the next hourly run. Every 5 minutes the monitor
1. pulls from the CRM only the Tasks of the Leads whose SLA clock is open (``marts.lead_sla``
   on_track or at_risk), modified since the oldest open clock started, into
   ``raw_salesforce.task`` (one batch in ``ops.batches``; a re-run of the interval loads
   nothing twice; the hourly extract's watermark is left alone);
2. rebuilds ``stg_salesforce__tasks`` and ``marts.lead_sla`` as of the run's
   ``data_interval_end`` (the routing itself stays the hour's);
3. raises each new breach once (``lead_scoring.alerts``) and delivers the owner alerts whose
   recipient's business hours have started (``lead_scoring.owner_alerts``).
"""

from __future__ import annotations

import hashlib
import logging
import re

from lead_scoring import crm_schema, warehouse
from lead_scoring.alert_channels import configured_notifiers
from lead_scoring.alerts import raise_new_breaches
from lead_scoring.dbt_runner import run_dbt
from lead_scoring.extract.salesforce import write_text_parquet
from lead_scoring.extract.soql import soql_datetime
from lead_scoring.load.files import load_crm_text
from lead_scoring.load.raw import Batch
from lead_scoring.owner_alerts import raise_owner_alerts
from lead_scoring.reverse_etl.sync import newer_write_back
from lead_scoring.run_context import RunContext, crm_client, timed
from lead_scoring.writer_lock import holding, writes_warehouse

log = logging.getLogger(__name__)

ID_PATTERN = re.compile(r"^[A-Za-z0-9]{15}([A-Za-z0-9]{3})?$")
IDS_PER_QUERY = 200


def open_clocks(con) -> tuple[list[str], object]:
    """Lead Ids whose SLA clock is open and the earliest start among them."""
    if not warehouse.table_exists(con, "marts", "lead_sla"):
        return [], None
    rows = con.execute(
        "select crm_id, sla_started_at from marts.lead_sla where is_clock_open order by crm_id"
    ).fetchall()
    return [r[0] for r in rows], min((r[1] for r in rows), default=None)


def task_queries(crm_ids: list[str], since, until) -> list[str]:
    """SOQL for the Tasks on ``crm_ids`` modified in (since, until]; Ids are checked, never
    pasted unchecked, and split into queries of IDS_PER_QUERY."""

    bad = [i for i in crm_ids if not ID_PATTERN.match(i)]
    if bad:
        raise ValueError(f"refusing to query Tasks for malformed CRM Id(s): {bad[:5]}")
    fields = ", ".join(crm_schema.fields("Task"))
    queries = []
    for start in range(0, len(crm_ids), IDS_PER_QUERY):
        chunk = ", ".join(f"'{i}'" for i in crm_ids[start : start + IDS_PER_QUERY])
        queries.append(
            f"SELECT {fields} FROM Task WHERE WhoId IN ({chunk}) "
            f"AND SystemModstamp > {soql_datetime(since)} AND SystemModstamp <= {soql_datetime(until)} "
            "ORDER BY SystemModstamp, Id"
        )
    return queries


@timed
@writes_warehouse
def pull_open_sla_tasks(ctx: RunContext, sf=None) -> dict:
    """Load the CRM Tasks of the Leads with an open SLA clock (see the module docstring)."""

    with warehouse.connect(ctx.settings.warehouse) as con:
        warehouse.ensure_schema(con)
        crm_ids, since = open_clocks(con)
    if not crm_ids:
        return {"open_clocks": 0, "tasks_loaded": 0}
    if ctx.settings.crm_source == "files":
        return {"open_clocks": len(crm_ids), "tasks_loaded": 0, "note": "files source: no CRM to poll"}
    if sf is None:
        sf = crm_client(ctx)
    records = []
    for soql in task_queries(crm_ids, since, ctx.as_of):
        records.extend(
            {k: v for k, v in record.items() if k != "attributes"}
            for record in sf.query_all_iter(soql, include_deleted=True)
        )
    path = ctx.settings.extracts_dir / ctx.run_id / "sla_monitor_Task.parquet"
    write_text_parquet(records, crm_schema.fields("Task"), path)
    digest = hashlib.sha256(",".join(crm_ids).encode()).hexdigest()[:16]
    batch = Batch(
        batch_id=f"sla_monitor:Task:{since:%Y-%m-%dT%H:%M:%S}:{ctx.as_of:%Y-%m-%dT%H:%M:%S}:{digest}",
        source="sla_monitor",
        object="Task",
        file=str(path),
        run_id=ctx.run_id,
        window_start=since,
        window_end=ctx.as_of,
    )
    with warehouse.connect(ctx.settings.warehouse) as con:
        result = load_crm_text(
            con, "Task", path, batch, watermark=False, as_of=ctx.as_of, skip_loaded_versions=True
        )
    log.info("SLA monitor: %s open clocks, %s Tasks pulled", len(crm_ids), len(records))
    return {"open_clocks": len(crm_ids), "tasks_pulled": len(records), "tasks_loaded": result.rows_loaded}


@timed
@writes_warehouse
def refresh_sla(ctx: RunContext) -> dict:
    """Rebuild the Task staging view and marts.lead_sla as of the run (not the routing)."""

    with warehouse.connect(ctx.settings.warehouse) as con:
        exists = warehouse.table_exists(con, "marts", "lead_sla")
    if not exists:
        return {"refreshed": False, "note": "no marts.lead_sla yet: the hourly run builds it"}
    nodes = run_dbt(ctx.settings, ["build", "--select", "stg_salesforce__tasks lead_sla"], ctx.as_of)
    with warehouse.connect(ctx.settings.warehouse) as con:
        statuses = dict(con.execute("select sla_status, count(*) from marts.lead_sla group by 1").fetchall())
    return {"refreshed": True, "dbt_nodes": len(nodes), "sla_status": statuses}


@timed
@writes_warehouse
def alert_sla(ctx: RunContext) -> dict:
    """Raise each new SLA breach once (ops.alerts + log, Slack, SMTP as configured), then each
    new owner alert once, and deliver the owner alerts whose recipient's hours have come
    (``owner_alerts``; its counts under the key ``owner_alerts``)."""

    with warehouse.connect(ctx.settings.warehouse) as con:
        warehouse.ensure_schema(con)
        stale = newer_write_back(con, ctx.as_of)
        if stale is not None:  # the newer run raised what was due then
            log.warning("SLA alerts skipped: %s", stale)
            return {"skipped_reason": stale}
        notifiers = configured_notifiers()
        result = raise_new_breaches(con, ctx.run_id, ctx.as_of, notifiers)
        owners = raise_owner_alerts(con, ctx.run_id, ctx.as_of, notifiers)
    return {**result.as_dict(), "owner_alerts": owners.as_dict()}


def monitor_once(ctx: RunContext, sf=None) -> dict:
    """The monitor's three steps in sequence (``leadscore sla-monitor``, tests), holding the
    writer lock for the whole pass."""
    with holding(ctx.settings.warehouse, f"SLA monitor pass {ctx.run_id}"):
        return {
            "pull_open_sla_tasks": pull_open_sla_tasks(ctx, sf),
            "refresh_sla": refresh_sla(ctx),
            "alert_sla": alert_sla(ctx),
        }
