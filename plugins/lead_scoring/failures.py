"""Name the failed stage and the fix: used by the DAG's failure callback and the CLI."""

from __future__ import annotations

import json
import logging

from lead_scoring import warehouse
from lead_scoring.config import load_settings
from lead_scoring.warehouse import utc_now

log = logging.getLogger(__name__)

# Exception class name (or a message fragment) → what to do about it.
CREDENTIALS = "the CRM rejected the credentials: update the salesforce_default connection"
FIX_HINTS: list[tuple[str, str]] = [
    (
        "CriticalDataQualityError",
        "a critical GX expectation failed and the write-back was blocked: see runs/<run_id>/gx/<suite>.json "
        "for the expectation and sample bad values, fix the data or model, re-run",
    ),
    (
        "CircuitBreakerOpen",
        "too many CRM records would change: `leadscore changes` lists who the last seed/model change "
        "moved; if intended, re-run with LEADSCORE_FORCE_SYNC=true (e.g. `LEADSCORE_FORCE_SYNC=true make "
        "demo`, or on the Airflow task's environment)",
    ),
    (
        "DbtBuildError",
        "a dbt model or test failed: run `dbt build --select <node>` in dbt_project/ with the run's as_of",
    ),
    (
        "NarrowBuildMismatch",
        "run the hourly run (`leadscore run`, or let the hourly DAG run): the fast lane resumes after it",
    ),
    ("PayloadError", "the payload model has a column that is not an allow-listed CRM field: fix the model"),
    ("FileLayoutError", "a landing file lacks a required column: fix the export and drop it again"),
    ("SalesforceExpiredSession", CREDENTIALS),
    ("SalesforceAuthenticationFailed", CREDENTIALS),
    (
        "ConnectionError",
        "the CRM could not be reached: check the salesforce_default host (is the sandbox running? "
        "`leadscore sandbox serve`)",
    ),
    ("No CRM connection", "set the salesforce_default connection or LEADSCORE_SF_* (see docs/operations.md)"),
    ("Could not set lock", "another process holds the DuckDB warehouse: stop it (DuckDB takes one writer)"),
    ("manifest.json is missing", "run `make manifest` (dbt parse)"),
]


def failure_hint(error: BaseException | None) -> str:
    """The fix for ``error``, by its class (or a base class) name or a message fragment."""
    if error is None:
        return "see the task log"
    names = {cls.__name__ for cls in type(error).__mro__}
    text = str(error)
    for key, hint in FIX_HINTS:
        if key in names or key in text:
            return hint
    return "see the task log for the traceback"


def record_failure(run_id: str, as_of, stage: str, error: BaseException | None) -> dict:
    """Log the failed stage and its fix, and mark the run failed in ``ops.runs`` (best effort:
    the warehouse itself may be what failed)."""
    report = {"run_id": run_id, "failed_stage": stage, "error": str(error)[:2000], "fix": failure_hint(error)}
    log.error(
        "leadscore run %s: stage %s failed: %s -- fix: %s", run_id, stage, report["error"], report["fix"]
    )
    try:
        with warehouse.connect(load_settings().warehouse) as con:
            warehouse.ensure_schema(con)
            con.execute(
                "insert or replace into ops.runs values (?, ?, 'failed', ?, null, ?)",
                [run_id, as_of, json.dumps(report), utc_now()],
            )
    except Exception as second:  # noqa: BLE001 - never hide the original failure
        log.warning("could not record the failure in ops.runs: %s", second)
    return report
