"""``leadscore status``: what the last runs did and what is waiting."""

from __future__ import annotations

import json

from lead_scoring import text_output, warehouse
from lead_scoring.alerts import delivery_status, open_breaches
from lead_scoring.config import Settings
from lead_scoring.reverse_etl.status import sync_status

RUN_FIELDS = (
    "people_scored", "leads_scored", "tier_counts", "crm_records_written", "crm_write_failures",
    "quarantined_rows", "duration_s",
)  # fmt: skip


def overall_status(settings: Settings, runs: int = 5) -> dict:
    """Last ``runs`` runs (status, as_of, counts or failed stage and fix), write-back backlog,
    quarantined rows and GX results of the latest run, the open SLA breaches and the alert
    deliveries per channel."""
    if not settings.warehouse.exists():
        return {"warehouse": str(settings.warehouse), "note": "no warehouse yet: run `make demo`"}
    with warehouse.reading(settings.warehouse) as con:
        rows = con.execute(
            "select run_id, as_of, status, summary, finished_at from ops.runs "
            "order by finished_at desc limit ?",
            [runs],
        ).fetchall()
        latest = rows[0][0] if rows else None
        gx = con.execute(
            "select suite, bool_and(success or severity = 'warning') as passed, "
            "count(*) filter (where not success) as failed_expectations "
            "from ops.gx_results where run_id = ? group by suite order by suite",
            [latest],
        ).fetchall()
        sla = open_breaches(con)
        deliveries = delivery_status(con)
        quarantine = con.execute(
            "select reason, count(*) from ops.quarantine q join ops.batches b on q._batch_id = b.batch_id "
            "where b.run_id = ? group by reason order by 2 desc limit 10",
            [latest],
        ).fetchall()
    recent = []
    for run_id, as_of, state, summary, finished_at in rows:
        detail = json.loads(summary) if summary else {}
        entry = {"run_id": run_id, "as_of": as_of, "status": state, "finished_at": finished_at}
        if state == "failed":
            entry.update({k: detail.get(k) for k in ("failed_stage", "error", "fix")})
        else:
            entry.update({k: detail.get(k) for k in RUN_FIELDS})
        recent.append(entry)
    return {
        "recent_runs": recent,
        "write_back": sync_status(settings),
        "latest_run_gx": {suite: {"passed": passed, "failed_expectations": n} for suite, passed, n in gx},
        "latest_run_quarantine": dict(quarantine),
        "sla_breaches": sla,
        "sla_alert_deliveries": deliveries,
    }


def format_status(status: dict) -> str:
    """``overall_status`` as text: a table of the recent runs (a failed one's stage, error
    and fix below it), then the write-back backlog, GX, quarantine, SLA breaches and alert
    deliveries."""
    runs = [
        {
            "run_id": run["run_id"],
            "as_of": run["as_of"],
            "status": run["status"],
            "people": run.get("people_scored"),
            "leads": run.get("leads_scored"),
            "written": run.get("crm_records_written"),
            "failures": run.get("crm_write_failures"),
            "quarantined": run.get("quarantined_rows"),
            "duration_s": run.get("duration_s"),
        }
        for run in status["recent_runs"]
    ]
    lines = ["recent runs:", *(text_output.table(runs, 2) if runs else ["  none yet: run `make demo`"])]
    for run in status["recent_runs"]:
        if run["status"] == "failed":
            lines += [
                f"  {run['run_id']} failed in {run.get('failed_stage')}: {run.get('error')}",
                f"    fix: {run.get('fix')}",
            ]
    rest = {
        "write-back": status["write_back"],
        "GX, latest run": status["latest_run_gx"] or "no results",
        "quarantined, latest run": status["latest_run_quarantine"] or "none",
        "SLA breaches": status["sla_breaches"],
        "SLA alert deliveries": status.get("sla_alert_deliveries") or "none yet",
    }
    return "\n".join([*lines, *text_output.text_lines(rest)])
