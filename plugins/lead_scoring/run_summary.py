"""The run summary: ``runs/<run_id>/summary.json``, ``runs/latest/summary.json`` and the
run's row in ``ops.runs`` (what ``make demo`` prints and ``leadscore summary`` shows)."""

from __future__ import annotations

import json
import time
from datetime import datetime, timezone

from lead_scoring import warehouse
from lead_scoring.alerts import run_alert_counts
from lead_scoring.run_context import RunContext


def stage_durations(stages: dict, started: float | None) -> dict:
    """Each stage's seconds, plus what they leave of the run's wall time, so the parts add
    up to ``duration_s``: in Airflow that is the cosmos dbt build (a task without a result
    of ours) and the tasks' start-up; outside it, the summary's own work."""
    durations = {
        name: stage["duration_s"]
        for name, stage in stages.items()
        if isinstance(stage, dict) and "duration_s" in stage
    }
    if started:
        rest = round(time.time() - started - sum(durations.values()), 1)
        if rest > 0:
            key = "other" if "dbt_build" in durations else "dbt_build_and_task_start_up"
            durations[key] = rest
    return durations


def summarize(ctx: RunContext, stages: dict, started: float | None = None) -> dict:
    """Write ``runs/<run_id>/summary.json`` and ``runs/latest/summary.json`` and record the
    run in ``ops.runs``; returns the summary."""
    with warehouse.connect(ctx.settings.warehouse) as con:
        warehouse.ensure_schema(con)
        scored = warehouse.table_exists(con, "marts", "lead_scores")
        tiers = (
            con.execute("select tier_label, count(*) from marts.lead_scores group by tier_label").fetchall()
            if scored
            else []
        )
        records = dict(
            con.execute(
                "select crm_object, count(*) from marts.lead_scores group by crm_object "
                "union all select 'people', count(distinct person_key) from marts.lead_scores"
            ).fetchall()
            if scored
            else []
        )
        read, quarantined, already = con.execute(
            "select coalesce(sum(rows_read), 0), coalesce(sum(rows_quarantined), 0), "
            "coalesce(sum(rows_already_loaded), 0) from ops.batches where run_id = ?",
            [ctx.run_id],
        ).fetchall()[0]
        rejected = con.execute(
            "select file, notes from ops.batches where run_id = ? and status = 'rejected' order by file",
            [ctx.run_id],
        ).fetchall()
        erased = con.execute(
            "select coalesce(sum(rows_erased), 0) from ops.erasure_runs where run_id = ?", [ctx.run_id]
        ).fetchall()[0][0]
        sla_alerts = run_alert_counts(con, ctx.run_id)
    write = stages.get("write_back") or {}
    gx = {
        **(stages.get("validate_raw") or {}).get("suites", {}),
        **(stages.get("validate_scores") or {}).get("suites", {}),
    }
    tier_counts = {label: 0 for label in ("Hot", "Warm", "Nurture", "Disqualified")}
    tier_counts.update({label: count for label, count in tiers})
    summary = {
        "run_id": ctx.run_id,
        "as_of": ctx.as_of.isoformat(),
        # the fast lane (lead_scoring.fast_lane) writes back only the people it touched
        "lane": "fast" if "touched" in stages else "hourly",
        "touched_people": (stages.get("touched") or {}).get("touched_people"),
        # the fast lane's narrow build: the records it scored and read (fast_lane.narrow_build)
        "narrow_build": {k: v for k, v in (stages.get("narrow_build") or {}).items() if k != "duration_s"}
        or None,
        # records = Leads + Contacts; people = records merged by e-mail (one score each)
        "records_scored": sum(tier_counts.values()),
        "leads_scored": records.get("Lead", 0),
        "contacts_scored": records.get("Contact", 0),
        "people_scored": records.get("people", 0),
        "tier_counts": tier_counts,
        "crm_records_changed": write.get("crm_records_changed", 0),
        "crm_records_written": write.get("crm_records_written", 0),
        "crm_write_failures": write.get("crm_write_failures", 0),
        "crm_write_skipped": write.get("skipped_reason"),
        "scoring_version": write.get("scoring_version"),
        "shadow": stages.get("shadow_score") or {"active": False},
        "pilot": stages.get("pilot_record") or {"active": False},
        "crm_dead_letters": write.get("crm_dead_letters", 0),
        # handoff Tasks (docs/routing-and-slas.md): created this run, refused, waiting for
        # their Lead's new owner to be written
        "crm_tasks_created": write.get("crm_tasks_created", 0),
        "crm_task_failures": write.get("crm_task_failures", 0),
        "crm_tasks_held": write.get("crm_tasks_held", 0),
        # nurture (docs/write-back.md): CampaignMembers created and removed, refused; a Campaign
        # the CRM lacks; the MAP list files of the changes
        "crm_campaign_members_created": write.get("crm_campaign_members_created", 0),
        "crm_campaign_members_removed": write.get("crm_campaign_members_removed", 0),
        "crm_campaign_member_failures": write.get("crm_campaign_member_failures", 0),
        "nurture_stopped": write.get("nurture_stopped"),
        "map_lists": write.get("map_lists"),
        "crm_api_calls": write.get("api_calls", 0),
        "rows_read": int(read),
        "quarantined_rows": int(quarantined),
        "rows_loaded": (stages.get("load_raw") or {}).get("rows_loaded", 0),
        # read again by an extract's look-back overlap: the raw table has them already
        "rows_already_loaded": int(already),
        "rejected_files": [{"file": file, "reason": reason} for file, reason in rejected],
        "rows_erased": int(erased),
        **sla_alerts,
        "gx": gx,
        "gx_warnings": [
            *(stages.get("validate_raw") or {}).get("warnings", []),
            *(stages.get("validate_scores") or {}).get("warnings", []),
        ],
        "dry_run": write.get("dry_run", ctx.settings.dry_run),
        "stage_durations_s": stage_durations(stages, started),
        "duration_s": round(time.time() - started, 1) if started else None,
    }
    text = json.dumps(summary, indent=2, default=str)
    for folder in (ctx.run_dir, ctx.settings.runs_dir / "latest"):
        folder.mkdir(parents=True, exist_ok=True)
        (folder / "summary.json").write_text(text)
    with warehouse.connect(ctx.settings.warehouse) as con:
        con.execute(
            "insert or replace into ops.runs values (?, ?, 'success', ?, ?, ?)",
            [
                ctx.run_id,
                ctx.as_of,
                text,
                datetime.fromtimestamp(started, timezone.utc).replace(tzinfo=None) if started else None,
                datetime.now(timezone.utc).replace(tzinfo=None),
            ],
        )
    return summary
