"""What the write-back has left to do: pending rows, dead letters, the last sync run."""

from __future__ import annotations

import os

from lead_scoring import warehouse
from lead_scoring.config import Settings
from lead_scoring.reverse_etl import nurture
from lead_scoring.reverse_etl.diff import ACTION_MODELS, PAYLOAD_MODELS, PayloadError, diff_payload
from lead_scoring.reverse_etl.writer import dead_letter_ids


def sync_status(settings: Settings, max_attempts: int = 5) -> dict:
    """Per object: rows whose change is not confirmed by the CRM yet (``pending``; for the
    handoff Tasks and nurture CampaignMembers, those not created yet; under ``CampaignMember
    removals``, the members not deleted yet), those of them that failed ``max_attempts`` times
    (``dead_letters``), and the last run's counts."""

    max_attempts = int(os.environ.get("LEADSCORE_SYNC_MAX_ATTEMPTS", max_attempts))
    status: dict = {"objects": {}}
    with warehouse.reading(settings.warehouse) as con:
        for obj in [*PAYLOAD_MODELS, *ACTION_MODELS]:
            try:
                diff = diff_payload(con, obj)
            except PayloadError as error:
                status["objects"][obj] = {"error": str(error)}
                continue
            dead = dead_letter_ids(con, obj, diff.changed, max_attempts)
            status["objects"][obj] = {
                "records": diff.total,
                "pending": diff.changed_count,
                "dead_letters": len(dead),
                "dead_letter_ids": sorted(dead)[:20],
            }
            if obj == nurture.OBJECT:  # the members who left the tier, not deleted yet
                removals = nurture.removal_diff(con)
                dead = dead_letter_ids(con, obj, removals.changed, max_attempts)
                status["objects"][f"{obj} removals"] = {
                    "records": removals.total,
                    "pending": removals.changed_count,
                    "dead_letters": len(dead),
                    "dead_letter_ids": sorted(dead)[:20],
                }
        last = con.execute(
            "select run_id, max(attempt_at), count(*) filter (where status = 'success'), "
            "count(*) filter (where status = 'failed') from ops.crm_sync_log "
            "group by run_id order by max(attempt_at) desc limit 1"
        ).fetchall()
        if last:
            run_id, at, ok, failed = last[0]
            status["last_run"] = {"run_id": run_id, "at": str(at), "written": ok, "failed": failed}
        status["unfinished_bulk_jobs"] = con.execute(
            "select count(*) from ops.crm_sync_jobs where state in ('open', 'uploaded')"
        ).fetchall()[0][0]
    return status
