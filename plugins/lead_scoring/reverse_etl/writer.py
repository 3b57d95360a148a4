"""Write changed payload rows to the CRM through the Bulk API 2.0 and record the outcome.

Every attempted row gets a line in ``ops.crm_sync_log``; ``ops.crm_sync_state`` advances
only for rows the CRM confirmed, so failed rows are retried by the next run.
"""

from __future__ import annotations

import csv
import io
import json
import logging
from dataclasses import dataclass, field
from datetime import datetime
from pathlib import Path

import duckdb
import pandas as pd

from lead_scoring.load.raw import utc_now
from lead_scoring.reverse_etl.diff import PayloadDiff

log = logging.getLogger(__name__)

# Bulk API 2.0: an empty cell leaves a field unchanged; #N/A sets it to null.
BULK_NULL = "#N/A"


class CircuitBreakerOpen(RuntimeError):
    """Too large a share of records would change in one run."""


@dataclass
class SyncResult:
    object: str
    total: int
    changed: int
    written: int = 0
    failed: int = 0
    dry_run: bool = False
    job_ids: list[str] = field(default_factory=list)

    def as_dict(self) -> dict:
        return self.__dict__.copy()


def _cell(value) -> str:
    if value is None or (isinstance(value, float) and pd.isna(value)) or value is pd.NaT:
        return BULK_NULL
    if isinstance(value, (pd.Timestamp, datetime)):
        return pd.Timestamp(value).strftime("%Y-%m-%dT%H:%M:%S.000Z")
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, float) and value.is_integer():
        return str(int(value))
    text = str(value)
    return text if text != "" else BULK_NULL


def payload_records(changed: pd.DataFrame) -> list[dict[str, str]]:
    """CRM-ready rows (text cells) from the changed payload frame."""
    fields = [c for c in changed.columns if c != "payload_hash"]
    return [
        {f: _cell(v) for f, v in zip(fields, row, strict=True)}
        for row in changed[fields].itertuples(index=False)
    ]


def check_circuit_breaker(diff: PayloadDiff, synced_before: int, max_share: float, force: bool) -> None:
    """Refuse to flood the CRM: fail when more than ``max_share`` of already-synced records
    would change (a first sync, with nothing synced yet, is exempt)."""
    if force or synced_before == 0 or diff.total == 0:
        return
    share = diff.changed_count / diff.total
    if share > max_share:
        raise CircuitBreakerOpen(
            f"{diff.changed_count} of {diff.total} {diff.object} records ({share:.0%}) would change, "
            f"more than LEADSCORE_MAX_CHANGE_SHARE={max_share:.0%}. Check the last scoring change; "
            "if it is intended, re-run with LEADSCORE_FORCE_SYNC=true for this run."
        )


def write_dry_run(diff: PayloadDiff, out_dir: Path) -> SyncResult:
    """Write the payload that would be sent and a diff summary; call nothing."""
    out_dir.mkdir(parents=True, exist_ok=True)
    records = payload_records(diff.changed)
    path = out_dir / f"{diff.object}_payload.csv"
    with path.open("w", newline="") as handle:
        writer = csv.DictWriter(handle, fieldnames=list(records[0]) if records else ["Id"])
        writer.writeheader()
        writer.writerows(records)
    (out_dir / f"{diff.object}_diff.json").write_text(
        json.dumps({"object": diff.object, "total": diff.total, "changed": diff.changed_count}, indent=2)
    )
    log.info("dry run: %s changed %s records written to %s", diff.changed_count, diff.object, path)
    return SyncResult(diff.object, diff.total, diff.changed_count, dry_run=True)


def _parse_results(text: str) -> list[dict[str, str]]:
    return list(csv.DictReader(io.StringIO(text))) if text else []


def send_bulk(sf, diff: PayloadDiff, run_id: str, con: duckdb.DuckDBPyConnection) -> SyncResult:
    """Bulk API 2.0 update of the changed rows; per-row outcome to the log, state advanced
    for the confirmed rows only."""
    result = SyncResult(diff.object, diff.total, diff.changed_count)
    if diff.changed_count == 0:
        return result
    records = payload_records(diff.changed)
    hashes = dict(zip(diff.changed["Id"], diff.changed["payload_hash"], strict=True))
    bulk_object = getattr(sf.bulk2, diff.object)
    jobs = bulk_object.update(records=records, wait=1)
    outcomes: dict[str, tuple[str, str | None, str]] = {}
    for job in jobs:
        job_id = job["job_id"]
        result.job_ids.append(job_id)
        for row in _parse_results(bulk_object.get_successful_records(job_id)):
            outcomes[row.get("sf__Id") or row["Id"]] = ("success", None, job_id)
        for row in _parse_results(bulk_object.get_failed_records(job_id)):
            outcomes[row.get("Id") or row["sf__Id"]] = ("failed", row.get("sf__Error"), job_id)
        for row in _parse_results(bulk_object.get_unprocessed_records(job_id)):
            outcomes[row["Id"]] = ("failed", "unprocessed by the CRM", job_id)
    now = utc_now()
    log_rows = []
    for crm_id in diff.changed["Id"]:
        status, error, job_id = outcomes.get(crm_id, ("failed", "no result returned by the CRM", None))
        log_rows.append((diff.object, crm_id, "update", status, error, hashes[crm_id], job_id, now, run_id))
    frame = pd.DataFrame(
        log_rows,
        columns=[
            "object",
            "crm_id",
            "operation",
            "status",
            "error",
            "payload_hash",
            "job_id",
            "attempt_at",
            "run_id",
        ],
    )
    con.execute("begin transaction")
    try:
        con.register("sync_outcomes", frame)
        con.execute("insert into ops.crm_sync_log select * from sync_outcomes")
        con.execute(
            "insert or replace into ops.crm_sync_state "
            "select object, crm_id, payload_hash, attempt_at, run_id from sync_outcomes "
            "where status = 'success'"
        )
        con.unregister("sync_outcomes")
        con.execute("commit")
    except Exception:
        con.execute("rollback")
        raise
    result.written = int((frame["status"] == "success").sum())
    result.failed = len(frame) - result.written
    if result.failed:
        log.warning("%s %s records failed; they stay pending for the next run", result.failed, diff.object)
    return result
