"""The stages of one scoring run. The Airflow DAG calls each as a task; ``leadscore run``
calls them in sequence. Each takes the run's context and returns a small JSON-able dict
(what Airflow passes between tasks as XCom); data itself moves through files and DuckDB.

Every stage scores and extracts "as of" the run's ``as_of`` (the DAG's data_interval_end),
never the wall clock, and re-running a stage for the same interval changes nothing.
"""

from __future__ import annotations

import functools
import json
import logging
import re
import time
from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime, timezone
from pathlib import Path

from lead_scoring import crm_schema, run_logging, warehouse
from lead_scoring.config import Settings, load_settings

log = logging.getLogger(__name__)


@dataclass(frozen=True)
class RunContext:
    run_id: str
    as_of: datetime  # naive UTC
    settings: Settings

    @property
    def run_dir(self) -> Path:
        return self.settings.runs_dir / self.run_id


def timed(stage: Callable[..., dict]) -> Callable[..., dict]:
    """Add the stage's wall time as ``duration_s`` to the dict it returns (for ops.runs);
    while it runs, log records carry the run id and the stage name."""

    @functools.wraps(stage)
    def run(*args, **kwargs) -> dict:
        ctx = args[0] if args and isinstance(args[0], RunContext) else kwargs.get("ctx")
        with run_logging.bound(run_id=ctx.run_id if ctx else None, stage=stage.__name__):
            started = time.perf_counter()
            result = stage(*args, **kwargs)
            result["duration_s"] = round(time.perf_counter() - started, 2)
            log.info("stage %s done in %.1fs", stage.__name__, result["duration_s"])
        return result

    return run


def parse_as_of(value: str | datetime) -> datetime:
    """A naive-UTC datetime from an ISO string or datetime (aware values are converted)."""
    if isinstance(value, str):
        value = datetime.fromisoformat(value.replace("Z", "+00:00"))
    if value.tzinfo is not None:
        value = value.astimezone(timezone.utc).replace(tzinfo=None)
    return value


def safe_run_id(raw: str) -> str:
    """A run id usable as a folder name (Airflow's contain ':' and '+')."""
    return re.sub(r"[^A-Za-z0-9_.-]+", "_", raw).strip("_")


def make_context(run_id: str, as_of: str | datetime, settings: Settings | None = None) -> RunContext:
    return RunContext(safe_run_id(run_id), parse_as_of(as_of), settings or load_settings())


# ----------------------------------------------------------------------------- extract


def read_watermarks(ctx: RunContext) -> dict[str, datetime]:
    with warehouse.connect(ctx.settings.warehouse) as con:
        warehouse.ensure_schema(con)
        rows = con.execute("select object, watermark from ops.watermarks").fetchall()
    return {obj: mark for obj, mark in rows}


@timed
def extract_crm(ctx: RunContext) -> dict:
    """CRM records changed since each object's watermark, up to as_of, to Parquet files
    (API source), or the Data Loader CSVs present in the landing folder (files source)."""
    settings = ctx.settings
    if settings.crm_source == "files":
        from lead_scoring.load.files import crm_landing_files  # noqa: PLC0415

        entries = [
            {"object": obj, "path": str(path), "source": "files"}
            for obj, path in crm_landing_files(settings.crm_landing)
        ]
        return {"source": "files", "extracts": entries}

    from lead_scoring.extract.salesforce import extract_object  # noqa: PLC0415

    watermarks = read_watermarks(ctx)
    sf = _crm(ctx)
    out_dir = settings.extracts_dir / ctx.run_id
    entries = []
    for obj in crm_schema.EXTRACT_ORDER:
        start = watermarks.get(obj)
        if start is not None and start >= ctx.as_of:
            log.info("%s: watermark %s is at or past as_of %s, nothing to extract", obj, start, ctx.as_of)
            continue
        entries.append(extract_object(sf, obj, start, ctx.as_of, out_dir))
    return {"source": "salesforce", "extracts": entries}


@timed
def extract_map(ctx: RunContext) -> dict:
    """The MAP files waiting in the landing folder (the loader skips those already loaded)."""
    folder = ctx.settings.map_landing
    files = sorted(str(p) for p in folder.glob("*") if p.is_file() and not p.name.startswith("."))
    return {"files": files, "started_at": time.time()}


# -------------------------------------------------------------------------------- load


@timed
def load_raw(ctx: RunContext, crm: dict, map_files: dict) -> dict:
    """Load the run's CRM extracts and MAP files into raw_*; returns per-batch counts.
    Erasure requests are recorded and applied first, and again after the loads."""
    from lead_scoring.load.files import load_crm_text, load_map_file  # noqa: PLC0415
    from lead_scoring.load.raw import Batch, file_sha256, utc_now  # noqa: PLC0415
    from lead_scoring.privacy import erasure  # noqa: PLC0415

    results = []
    with warehouse.connect(ctx.settings.warehouse) as con:
        warehouse.ensure_schema(con)
        request_error = None
        try:  # erasure requests first: the valid ones apply even if a file has bad lines
            erasure.ingest_request_files(con, ctx.settings.landing / "erasure", utc_now())
        except erasure.ErasureRequestError as error:
            request_error = error
        purged = erasure.purge(con, ctx.run_id, utc_now()).total
        for entry in crm["extracts"]:
            path = Path(entry["path"])
            obj = entry["object"]
            if entry["source"] == "salesforce":
                start = entry["window_start"] or "beginning"
                batch = Batch(
                    batch_id=f"salesforce:{obj}:{start}:{entry['window_end']}",
                    source="salesforce",
                    object=obj,
                    file=str(path),
                    run_id=ctx.run_id,
                    window_start=parse_as_of(entry["window_start"]) if entry["window_start"] else None,
                    window_end=parse_as_of(entry["window_end"]),
                )
                results.append(load_crm_text(con, obj, path, batch, watermark=True, as_of=ctx.as_of))
            else:
                digest = file_sha256(path)
                batch = Batch(
                    batch_id=f"files:{obj}:{path.name}:{digest[:16]}",
                    source="files",
                    object=obj,
                    file=str(path),
                    run_id=ctx.run_id,
                    content_hash=digest,
                )
                results.append(load_crm_text(con, obj, path, batch, watermark=False, as_of=ctx.as_of))
        for name in map_files["files"]:
            results.append(load_map_file(con, Path(name), ctx.run_id, ctx.as_of))
        new = [r for r in results if not r.skipped]
        for result in new:
            erasure.record_load_erasures(con, ctx.run_id, result.object, result.rows_erased, utc_now())
        # ids first seen in this load (a Marketo lead of an erased address) reach earlier rows
        purged += erasure.purge(con, ctx.run_id, utc_now()).total
    if request_error is not None:
        raise request_error
    return {
        "batches": [r.as_dict() for r in results],
        "new_batch_ids": [r.batch_id for r in new],
        "rows_read": sum(r.rows_read for r in new),
        "rows_loaded": sum(r.rows_loaded for r in new),
        "rows_quarantined": sum(r.rows_quarantined for r in new),
        "rows_erased": sum(r.rows_erased for r in new) + purged,
    }


# ---------------------------------------------------------------------------- validate


def _suites(ctx: RunContext, prefix: str) -> list[Path]:
    return sorted(ctx.settings.expectations_dir.glob(f"{prefix}*.json"))


def validate(ctx: RunContext, prefix: str, batch_ids: list[str] | None = None) -> dict:
    """Run the GX suites whose file name starts with ``prefix``; raise on a critical failure."""
    from lead_scoring.quality.gx_checks import hold_failed_batches, raise_on_critical, run_suites  # noqa: PLC0415

    with warehouse.connect(ctx.settings.warehouse) as con:
        warehouse.ensure_schema(con)
        results = run_suites(con, _suites(ctx, prefix), ctx.run_id, ctx.run_dir / "gx", batch_ids)
        held = hold_failed_batches(con, results, batch_ids or [])  # raw checks: never score a failing batch
    summary = {
        "suites": {r.suite: r.status for r in results},
        "warnings": [w.describe() for r in results for w in r.warnings],
    }
    raise_on_critical(results, held)
    return summary


@timed
def validate_raw(ctx: RunContext, load: dict) -> dict:
    return validate(ctx, "raw_", load["new_batch_ids"])


@timed
def validate_scores(ctx: RunContext) -> dict:
    return validate(ctx, "lead_scores")


# ------------------------------------------------------------------------------- score


@timed
def build_scores(ctx: RunContext) -> dict:
    """``dbt build`` of the hourly models as of the run (outside Airflow; the DAG uses cosmos).
    Unit tests check the SQL on fixed fixtures, not the data: they run in CI (``make test``),
    not every hour."""
    from lead_scoring.dbt_runner import run_dbt  # noqa: PLC0415

    nodes = run_dbt(
        ctx.settings, ["build", "--select", "tag:hourly", "--exclude-resource-type", "unit_test"], ctx.as_of
    )
    return {"nodes": len(nodes), "failed": [n["node"] for n in nodes if n["status"] in {"error", "fail"}]}


# --------------------------------------------------------------------------- write back


def sync_options_from_env(force: bool | None = None, retry_dead_letters: bool = False):
    """Write-back guardrails from ``LEADSCORE_*`` variables (see the README)."""
    import os  # noqa: PLC0415

    from lead_scoring.reverse_etl.writer import SyncOptions  # noqa: PLC0415

    def flag(name: str) -> bool:
        return os.environ.get(name, "").lower() in {"1", "true", "yes"}

    return SyncOptions(
        max_change_share=float(os.environ.get("LEADSCORE_MAX_CHANGE_SHARE", "0.5")),
        force=flag("LEADSCORE_FORCE_SYNC") if force is None else force,
        bulk_threshold=int(os.environ.get("LEADSCORE_BULK_THRESHOLD", "2000")),
        bulk_job_rows=int(os.environ.get("LEADSCORE_BULK_JOB_ROWS", "100000")),
        max_attempts=int(os.environ.get("LEADSCORE_SYNC_MAX_ATTEMPTS", "5")),
        retry_dead_letters=retry_dead_letters,
        api_usage_stop=float(os.environ.get("LEADSCORE_API_USAGE_STOP", "0.9")),
    )


@timed
def write_back_crm(ctx: RunContext, force: bool | None = None, retry_dead_letters: bool = False) -> dict:
    """Send the changed payload rows of each synced object to the CRM (or to a file when
    LEADSCORE_DRY_RUN is set), after finishing any bulk job an interrupted run left."""
    from lead_scoring.reverse_etl.diff import PAYLOAD_MODELS, diff_payload  # noqa: PLC0415
    from lead_scoring.reverse_etl.writer import (  # noqa: PLC0415
        check_circuit_breaker,
        finish_object,
        reconcile_jobs,
        send_object,
        write_dry_run,
    )

    options = sync_options_from_env(force, retry_dead_letters)
    results, sent, sf = [], [], None
    with warehouse.connect(ctx.settings.warehouse) as con:
        warehouse.ensure_schema(con)
        stopped: Exception | None = None
        try:
            for obj in PAYLOAD_MODELS:
                if not ctx.settings.dry_run:
                    unfinished = con.execute(
                        "select count(*) from ops.crm_sync_jobs "
                        "where object = ? and state in ('open', 'uploaded')",
                        [obj],
                    ).fetchall()[0][0]
                    if unfinished:
                        sf = sf or _crm(ctx)
                        reconcile_jobs(con, sf, obj, ctx.run_id)
                diff = diff_payload(con, obj)
                if ctx.settings.dry_run:
                    results.append(write_dry_run(diff, ctx.run_dir / "dry_run"))
                    continue
                synced_before = con.execute(
                    "select count(*) from ops.crm_sync_state where object = ?", [obj]
                ).fetchall()[0][0]
                check_circuit_breaker(diff, synced_before, options.max_change_share, options.force)
                if diff.changed_count:
                    sf = sf or _crm(ctx)
                sent.append(send_object(con, sf, diff, ctx.run_id, options))
        except Exception as exc:  # noqa: BLE001 - re-raised below, once what was sent is recorded
            stopped = exc
        # Every object's Bulk jobs are sent before the first is waited for, so the CRM works
        # on them while the next object is diffed and sent. The objects already sent are
        # waited for and recorded even when a later one stops the run (its circuit breaker,
        # an error); a crash or an interrupt leaves them to the next run's reconcile.
        results += [finish_object(con, sf, s) for s in sent]
        if stopped is not None:
            raise stopped
    usage = getattr(getattr(sf, "session", None), "api_usage", None)
    if usage is not None:
        log.info(
            "CRM API: %d calls, %d retries this run; daily usage %s/%s",
            usage.calls,
            usage.retries,
            usage.used,
            usage.limit,
        )
    return {
        "objects": [r.as_dict() for r in results],
        "crm_records_changed": sum(r.changed for r in results),
        "crm_records_written": sum(r.written for r in results),
        "crm_write_failures": sum(r.failed for r in results),
        "crm_dead_letters": sum(r.dead_letters for r in results),
        "api_calls": usage.calls if usage is not None else 0,
        "dry_run": ctx.settings.dry_run,
    }


def _crm(ctx: RunContext):
    from lead_scoring.crm.client import resolve_connection, salesforce  # noqa: PLC0415

    return salesforce(resolve_connection(ctx.settings.sandbox_dir))


# ----------------------------------------------------------------------------- summary


def summarize(ctx: RunContext, stages: dict, started: float | None = None) -> dict:
    """Write ``runs/<run_id>/summary.json`` and ``runs/latest/summary.json`` and record the
    run in ``ops.runs``; returns the summary."""
    from lead_scoring.alerts import run_alert_counts  # noqa: PLC0415

    with warehouse.connect(ctx.settings.warehouse) as con:
        warehouse.ensure_schema(con)
        tiers = (
            con.execute("select tier_label, count(*) from marts.lead_scores group by tier_label").fetchall()
            if warehouse.table_exists(con, "marts", "lead_scores")
            else []
        )
        read, quarantined = con.execute(
            "select coalesce(sum(rows_read), 0), coalesce(sum(rows_quarantined), 0) from ops.batches "
            "where run_id = ?",
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
        "leads_scored": sum(tier_counts.values()),
        "tier_counts": tier_counts,
        "crm_records_changed": write.get("crm_records_changed", 0),
        "crm_records_written": write.get("crm_records_written", 0),
        "crm_write_failures": write.get("crm_write_failures", 0),
        "crm_dead_letters": write.get("crm_dead_letters", 0),
        "crm_api_calls": write.get("api_calls", 0),
        "rows_read": int(read),
        "quarantined_rows": int(quarantined),
        "rows_loaded": (stages.get("load_raw") or {}).get("rows_loaded", 0),
        "rejected_files": [{"file": file, "reason": reason} for file, reason in rejected],
        "rows_erased": int(erased),
        **sla_alerts,
        "gx": gx,
        "gx_warnings": [
            *(stages.get("validate_raw") or {}).get("warnings", []),
            *(stages.get("validate_scores") or {}).get("warnings", []),
        ],
        "dry_run": write.get("dry_run", ctx.settings.dry_run),
        "stage_durations_s": {
            name: stage["duration_s"]
            for name, stage in stages.items()
            if isinstance(stage, dict) and "duration_s" in stage
        },
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


def _alert_sla(ctx: RunContext) -> dict:
    from lead_scoring.sla_monitor import alert_sla  # noqa: PLC0415

    return alert_sla(ctx)


def run_all(ctx: RunContext) -> dict:
    """One complete run outside Airflow: extract, load, validate, dbt build, validate,
    write back, summarize. A failing stage is recorded (ops.runs) with its fix, then raised."""
    from lead_scoring.failures import record_failure  # noqa: PLC0415

    started = time.time()
    stages: dict = {}
    plan: list[tuple[str, Callable[[], dict]]] = [
        ("extract_crm", lambda: extract_crm(ctx)),
        ("extract_map", lambda: extract_map(ctx)),
        ("load_raw", lambda: load_raw(ctx, stages["extract_crm"], stages["extract_map"])),
        ("validate_raw", lambda: validate_raw(ctx, stages["load_raw"])),
        ("dbt_build", lambda: build_scores(ctx)),
        ("validate_scores", lambda: validate_scores(ctx)),
        ("write_back", lambda: write_back_crm(ctx)),
        ("alert_sla", lambda: _alert_sla(ctx)),
    ]
    with run_logging.bound(run_id=ctx.run_id):
        for name, stage in plan:
            try:
                stages[name] = stage()
            except Exception as error:
                with run_logging.bound(stage=name):
                    error.leadscore_report = record_failure(ctx.run_id, ctx.as_of, name, error)  # type: ignore[attr-defined]
                raise
        with run_logging.bound(stage="summarize"):
            return summarize(ctx, stages, started)
