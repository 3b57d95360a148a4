"""Write changed payload rows to the CRM and record every row's outcome.

- Only rows whose payload hash differs from ``ops.crm_sync_state`` are sent.
- Each attempt is a row in ``ops.crm_sync_log``; the state advances only for confirmed rows,
  so failed rows stay pending and are retried by later runs, up to ``max_attempts`` for the
  same change, after which they are dead letters: reported by ``leadscore sync status``,
  never dropped, retried again with ``--retry-dead-letters`` or when their payload changes.
- Bulk jobs are recorded in ``ops.crm_sync_jobs`` before any data is sent; a run first
  reconciles jobs an earlier run left unfinished (a crash after the CRM accepted a batch),
  so the same change is never written twice.
- Guardrails: dry run, circuit breaker, API-limit stop.
- Records created once (handoff Tasks, ``crm_schema.CREATE_ONCE_KEYS``) go through the same
  steps keyed by their External ID, as upserts on it; each confirmed one is a row in
  ``ops.crm_actions`` (with its CRM Id), written with its sync state, and is never sent again.
  A key that an earlier attempt may have created (no answer, a failed read-back) is looked up
  in the CRM before it is sent again: found, it is recorded, not written.
"""

from __future__ import annotations

import csv
import json
import logging
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path

import duckdb
import pandas as pd
from simple_salesforce.exceptions import SalesforceResourceNotFound

from lead_scoring import crm_schema
from lead_scoring.reverse_etl import nurture
from lead_scoring.reverse_etl.diff import PayloadDiff, diff_payload
from lead_scoring.reverse_etl.transport import (
    ApiBudgetExhausted,
    Bulk2,
    JobLedger,
    Outcome,
    SubmittedJob,
    bulk_cell,
    bulk_parts,
    collect_bulk,
    find_created,
    finished_job_outcomes,
    json_records,
    read_back,
    send_collections,
    sent_values,
    submit_bulk,
)
from lead_scoring.warehouse import registered, utc_now

log = logging.getLogger(__name__)


class CircuitBreakerOpen(RuntimeError):
    """Too large a share of records would change in one run."""


@dataclass(frozen=True)
class SyncOptions:
    max_change_share: float = 0.5
    force: bool = False
    bulk_threshold: int = 2000  # more changed rows than this go through the Bulk API 2.0
    bulk_job_rows: int = 100_000  # at most this many rows (and 100 MB of CSV) per Bulk job
    max_attempts: int = 5
    retry_dead_letters: bool = False
    api_usage_stop: float = 0.9  # stop sending when this share of the daily API limit is used


@dataclass
class SyncResult:
    object: str
    total: int
    changed: int
    written: int = 0
    failed: int = 0
    dead_letters: int = 0
    held: int = 0  # records created once not sent yet: their Lead's new owner is not in the CRM
    removed: int = 0  # nurture members deleted (or found gone) this run
    removal_failures: int = 0
    reconciled: int = 0
    transport: str | None = None
    dry_run: bool = False
    stopped_reason: str | None = None
    job_ids: list[str] = field(default_factory=list)

    def as_dict(self) -> dict:
        return self.__dict__.copy()


def payload_records(changed: pd.DataFrame) -> list[dict[str, str]]:
    """CRM-ready rows as Bulk CSV cells (used by the dry-run file; an empty cell is a field
    left as it is)."""
    fields, rows = sent_values(changed)
    return [{f: bulk_cell(v) for f, v in zip(fields, row, strict=True)} for row in rows]


def check_circuit_breaker(
    diff: PayloadDiff, synced_before: int, max_share: float, force: bool, gap_hours: float | None = None
) -> None:
    """Refuse to flood the CRM: fail when more than ``max_share`` of already-synced records
    would change (a first sync, with nothing synced yet, is exempt). Only a record whose
    score, tier, reasons, owner or SLA fields change counts: a new scoring version alone
    changes nothing (``diff.UNHASHED_FIELDS``). ``gap_hours`` (since the last write-back's
    as_of) goes in the message: intent decays by the hour, so a long pause moves many scores."""
    if force or synced_before == 0 or diff.total == 0:
        return
    share = diff.changed_count / diff.total
    if share > max_share:
        versions = (
            sorted(diff.changed["Score_Model_Version__c"].dropna().astype(str).unique())
            if "Score_Model_Version__c" in diff.changed.columns
            else []
        )
        scored_by = f" under scoring version {', '.join(versions)}" if versions else ""
        raise CircuitBreakerOpen(
            f"{diff.changed_count} of {diff.total} {diff.object} records ({share:.0%}) would change"
            f"{scored_by}, more than LEADSCORE_MAX_CHANGE_SHARE={max_share:.0%}. Check the last "
            "scoring change; if it is intended, re-run with LEADSCORE_FORCE_SYNC=true for this run."
            + (
                f" The last write-back was {gap_hours:.0f} hours before this run's as_of: scores decay "
                "by the hour, so a pause that long moves many of them."
                if gap_hours is not None and gap_hours >= 6
                else ""
            )
        )


def write_dry_run(diff: PayloadDiff, out_dir: Path) -> SyncResult:
    """Write the payload that would be sent and a diff summary; call nothing."""
    out_dir.mkdir(parents=True, exist_ok=True)
    records = payload_records(diff.changed)
    path = out_dir / f"{diff.object}_payload.csv"
    with path.open("w", newline="") as handle:
        writer = csv.DictWriter(handle, fieldnames=list(records[0]) if records else [diff.key])
        writer.writeheader()
        writer.writerows(records)
    (out_dir / f"{diff.object}_diff.json").write_text(
        json.dumps({"object": diff.object, "total": diff.total, "changed": diff.changed_count}, indent=2)
    )
    log.info("dry run: %s changed %s records written to %s", diff.changed_count, diff.object, path)
    return SyncResult(diff.object, diff.total, diff.changed_count, dry_run=True)


# ------------------------------------------------------------------------ bookkeeping


ACTION_LEDGER_COLUMNS = [
    "action_id",
    "object",
    "kind",
    "crm_id",
    "owner_id",
    "task_id",
    "due_at",
    "triggered_at",
    "operation",
    "created_at",
    "run_id",
    "campaign_name",
]


def _value(row: dict, column: str):
    value = row.get(column)
    return None if value is None or pd.isna(value) else value


def action_ledger_rows(
    obj: str, outcomes: list[Outcome], actions: pd.DataFrame | None, now, run_id: str
) -> pd.DataFrame:
    """The ``ops.crm_actions`` rows of the confirmed outcomes of an object created once. What
    each action was (its kind, person, owner, due time, trigger, Campaign) comes from its sent
    payload row (``actions``; the columns of ``marts.sync_salesforce__tasks`` or
    ``marts.sync_salesforce__campaign_members``), when known."""
    sent = {} if actions is None else actions.set_index(crm_schema.key_field(obj)).to_dict("index")
    rows = []
    for outcome in outcomes:
        if outcome.status != "success":
            continue
        row = sent.get(outcome.crm_id, {})
        rows.append(
            {
                "action_id": outcome.crm_id,
                "object": obj,
                "kind": _value(row, "_action_kind"),
                "crm_id": _value(row, "WhoId") or _value(row, "LeadId") or _value(row, "ContactId"),
                "owner_id": _value(row, "OwnerId"),
                "task_id": outcome.record_id,
                "due_at": _value(row, "ReminderDateTime"),
                "triggered_at": _value(row, "_triggered_at"),
                "operation": outcome.operation,
                "created_at": now,
                "run_id": run_id,
                "campaign_name": _value(row, "_campaign_name"),
            }
        )
    return pd.DataFrame(rows, columns=ACTION_LEDGER_COLUMNS)


def record_outcomes(
    con: duckdb.DuckDBPyConnection,
    obj: str,
    run_id: str,
    outcomes: list[Outcome],
    hashes: dict[str, str],
    actions: pd.DataFrame | None = None,
) -> None:
    """Log every outcome; advance the sync state for the successes, and for an object created
    once record them in ``ops.crm_actions`` (``actions``: the sent payload rows), all in one
    transaction."""
    if not outcomes:
        return
    now = utc_now()
    frame = pd.DataFrame(
        [
            (obj, o.crm_id, o.operation, o.status, o.error, hashes.get(o.crm_id), o.job_id, now, run_id)
            for o in outcomes
        ],
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
        with registered(con, "sync_outcomes", frame):
            con.execute("insert into ops.crm_sync_log select * from sync_outcomes")
            con.execute(
                "insert or replace into ops.crm_sync_state "
                "select object, crm_id, payload_hash, attempt_at, run_id from sync_outcomes "
                "where status = 'success'"
            )
        if obj in crm_schema.CREATE_ONCE_KEYS:
            ledger = action_ledger_rows(obj, outcomes, actions, now, run_id)
            with registered(con, "action_outcomes", ledger):
                # a key is confirmed once: a second confirmation keeps the first row
                con.execute("insert or ignore into ops.crm_actions by name select * from action_outcomes")
        con.execute("commit")
    except Exception:
        con.execute("rollback")
        raise


def job_ledger(con: duckdb.DuckDBPyConnection, obj: str, run_id: str, hashes: dict[str, str]) -> JobLedger:
    def set_state(job_id: str, state: str) -> None:
        con.execute(
            "update ops.crm_sync_jobs set state = ?, updated_at = ? where job_id = ?",
            [state, utc_now(), job_id],
        )

    def opened(job_id: str, ids: list[str]) -> None:
        now = utc_now()
        con.execute("begin transaction")
        con.execute(
            "insert into ops.crm_sync_jobs values (?, ?, ?, 'open', ?, ?)", [job_id, obj, run_id, now, now]
        )
        # one statement for the job's rows (up to LEADSCORE_BULK_JOB_ROWS): executemany took
        # about 12 s per 100,000 rows at scale L
        rows = pd.DataFrame({"crm_id": ids, "payload_hash": [hashes[i] for i in ids]})
        with registered(con, "_job_rows", rows):
            con.execute(
                "insert into ops.crm_sync_job_rows select ?, crm_id, payload_hash from _job_rows", [job_id]
            )
        con.execute("commit")

    return JobLedger(
        opened=opened,
        uploaded=lambda job_id: set_state(job_id, "uploaded"),
        aborted=lambda job_id: set_state(job_id, "aborted"),
    )


def reconcile_jobs(con: duckdb.DuckDBPyConnection, sf, obj: str, run_id: str) -> int:
    """Finish the bookkeeping of bulk jobs an interrupted run left open: outcomes of
    finished jobs are recorded (not re-sent), the rows a partly processed job applied
    included; jobs never closed are aborted; a job the CRM no longer knows (deleted after
    its retention) is closed by reading its rows back. Returns the number of rows whose
    outcome was recovered."""
    pending = con.execute(
        "select job_id from ops.crm_sync_jobs where object = ? and state in ('open', 'uploaded') "
        "order by created_at",
        [obj],
    ).fetchall()
    bulk, recovered, key = Bulk2(sf), 0, crm_schema.key_field(obj)
    # what the jobs' rows of an object created once were (for ops.crm_actions): still pending
    actions = diff_payload(con, obj).changed if pending and obj in crm_schema.CREATE_ONCE_KEYS else None
    for (job_id,) in pending:
        rows = con.execute(
            "select crm_id, payload_hash from ops.crm_sync_job_rows where job_id = ?", [job_id]
        ).fetchall()
        hashes = dict(rows)
        try:
            info = bulk.info(job_id)
        except SalesforceResourceNotFound:
            outcomes = _expired_job_outcomes(con, sf, obj, job_id, hashes)
            info = {"state": "unknown to the CRM"}
        else:
            if info["state"] == "Open":
                bulk.set_state(job_id, "Aborted")
                info = {"state": "Aborted"}
            elif info["state"] in {"UploadComplete", "InProgress"}:
                info = bulk.wait(job_id)
            outcomes = finished_job_outcomes(bulk, job_id, list(hashes), info, uploaded_here=False, key=key)
        recovered += sum(o.status == "success" for o in outcomes)
        record_outcomes(con, obj, run_id, outcomes, hashes, actions)
        con.execute(
            "update ops.crm_sync_jobs set state = ?, updated_at = ? where job_id = ?",
            [RECONCILED_STATES.get(info["state"], "aborted"), utc_now(), job_id],
        )
        log.warning("reconciled interrupted bulk job %s (%s): %d rows", job_id, info["state"], len(hashes))
    return recovered


# ops.crm_sync_jobs.state of a reconciled job, by the CRM's last word on it
RECONCILED_STATES = {"JobComplete": "reconciled", "Failed": "failed", "unknown to the CRM": "expired"}


def _expired_job_outcomes(con, sf, obj: str, job_id: str, hashes: dict[str, str]) -> list[Outcome]:
    """The rows of a job the CRM no longer knows (404: deleted after its retention, about 7
    days): a row whose current payload is still the one the job carried counts as written
    when the CRM holds its values (read back); every other row failed and is diffed again."""
    changed, key = diff_payload(con, obj).changed, crm_schema.key_field(obj)
    same = changed[changed[key].isin(list(hashes))]
    same = same[same["payload_hash"] == same[key].map(hashes)]
    read = {o.crm_id: o for o in read_back(sf, obj, json_records(same), settle_s=0)} if len(same) else {}
    reason = f"bulk job {job_id} is unknown to the CRM (deleted after its retention); diffed again"
    log.warning(
        "%s: %d of its %d rows hold the sent values",
        reason,
        sum(o.status == "success" for o in read.values()),
        len(hashes),
    )
    return [
        Outcome(i, "success", None, job_id, read[i].operation, read[i].record_id)
        if i in read and read[i].status == "success"
        else Outcome(i, "failed", reason, job_id)
        for i in hashes
    ]


def dead_letter_ids(
    con: duckdb.DuckDBPyConnection, obj: str, changed: pd.DataFrame, max_attempts: int
) -> set[str]:
    """Rows whose current change already failed ``max_attempts`` times."""
    if changed.empty:
        return set()
    key = crm_schema.key_field(obj)
    with registered(con, "changed_rows", changed[[key, "payload_hash"]].rename(columns={key: "Id"})):
        rows = con.execute(
            "select log.crm_id from ops.crm_sync_log log join changed_rows c "
            "on log.crm_id = c.Id and log.payload_hash = c.payload_hash "
            "where log.object = ? and log.status = 'failed' group by log.crm_id having count(*) >= ?",
            [obj, max_attempts],
        ).fetchall()
    return {r[0] for r in rows}


# ------------------------------------------------------------------------------ sync


@dataclass
class SentObject:
    """An object's changed rows on their way to the CRM: the Bulk jobs submitted for them
    (``finish_object`` waits for them) or the Collections outcomes, already known."""

    result: SyncResult
    run_id: str
    hashes: dict[str, str] = field(default_factory=dict)  # what was sent: crm_id -> payload hash
    jobs: list[SubmittedJob] = field(default_factory=list)
    outcomes: list[Outcome] = field(default_factory=list)
    actions: pd.DataFrame | None = None  # the rows sent of an object created once (ops.crm_actions)


def send_object(
    con: duckdb.DuckDBPyConnection, sf, diff: PayloadDiff, run_id: str, options: SyncOptions
) -> SentObject:
    """Send ``diff``'s changed rows (after the dead letters and the API usage stop). SObject
    Collections answer at once; Bulk jobs are uploaded and closed, all of them before the
    first is waited for, and ``finish_object`` waits: the CRM processes a job while the next
    one, or the next object's, is built and sent (at scale L, 18 jobs of up to 100,000 rows)."""
    obj, key = diff.object, diff.key
    sent = SentObject(SyncResult(obj, diff.total, diff.changed_count), run_id)
    changed = diff.changed
    dead = set() if options.retry_dead_letters else dead_letter_ids(con, obj, changed, options.max_attempts)
    if dead:
        sent.result.dead_letters = len(dead)
        log.error(
            "%d %s records failed %d times for the same change: dead letters, not re-sent "
            "(see `leadscore sync status`)",
            len(dead),
            obj,
            options.max_attempts,
        )
        changed = changed[~changed[key].isin(dead)]
    if changed.empty:
        return sent
    sent.hashes = dict(zip(changed[key], changed["payload_hash"], strict=True))
    if obj in crm_schema.CREATE_ONCE_KEYS:
        sent.actions = changed
    check_budget = api_budget(sf, options.api_usage_stop)

    def record(outcomes: list[Outcome]) -> None:
        record_outcomes(con, obj, run_id, outcomes, sent.hashes, sent.actions)
        sent.outcomes.extend(outcomes)

    try:
        if obj in crm_schema.CREATE_ONCE_KEYS:
            check_budget()
            changed = _without_created(con, sf, obj, changed, record)
        if len(changed) > options.bulk_threshold:
            sent.result.transport = "bulk"
            ledger = job_ledger(con, obj, run_id, sent.hashes)
            for part, data in bulk_parts(changed, options.bulk_job_rows):
                check_budget()
                sent.jobs.append(submit_bulk(sf, obj, part, data, ledger))
        else:
            sent.result.transport = "collections"
            send_collections(sf, obj, changed, record, check_budget)
    except ApiBudgetExhausted as stop:
        unsent = len(sent.hashes) - len(sent.outcomes) - sum(len(job.ids) for job in sent.jobs)
        sent.result.stopped_reason = f"{stop}; {unsent} rows left pending"
        log.error("%s: %s", obj, sent.result.stopped_reason)
    return sent


def _without_created(
    con: duckdb.DuckDBPyConnection,
    sf,
    obj: str,
    changed: pd.DataFrame,
    record: Callable[[list[Outcome]], None],
) -> pd.DataFrame:
    """The rows of an object created once left to send: a key an earlier attempt sent (it got
    no answer, or its read-back gave up before the CRM applied it) may exist in the CRM
    already; those found are recorded as confirmed (``found``) and not written again, so a Task
    a rep may have started working is never overwritten. A first attempt needs no look-up."""
    key = crm_schema.key_field(obj)
    with registered(con, "_pending_keys", changed[[key]].rename(columns={key: "crm_id"})):
        tried = [
            r[0]
            for r in con.execute(
                "select distinct log.crm_id from ops.crm_sync_log log "
                "join _pending_keys using (crm_id) where log.object = ?",
                [obj],
            ).fetchall()
        ]
    if not tried:
        return changed
    found = find_created(sf, obj, sorted(tried))
    log.info("%d %s keys were sent before: %d of them exist in the CRM", len(tried), obj, len(found))
    if found:
        record([Outcome(k, "success", None, None, "found", record_id) for k, record_id in found.items()])
    return changed[~changed[key].isin(list(found))]


def api_budget(sf, stop_share: float) -> Callable[[], None]:
    """A check to run before each request batch: raises ``ApiBudgetExhausted`` when the org's
    daily API usage is at ``stop_share`` of its limit. The usage comes from the last answer's
    ``Sforce-Limit-Info``; before the first answer, from the ``limits`` resource."""
    usage = getattr(sf.session, "api_usage", None)

    def check() -> None:
        if usage is None:
            return
        if usage.share_used is None:
            read_limits(sf, usage)
        share = usage.share_used
        if share is not None and share >= stop_share:
            raise ApiBudgetExhausted(
                f"API usage at {share:.0%} of the daily limit ({usage.used:,} of {usage.limit:,} calls; "
                f"LEADSCORE_API_USAGE_STOP={stop_share:g})"
            )

    return check


def read_limits(sf, usage) -> None:
    """The org's daily API usage from the ``limits`` resource (a client that has had no
    answer yet knows nothing of it). An org that refuses it is written to as before."""
    try:
        daily = sf.limits()["DailyApiRequests"]
    except Exception as error:  # noqa: BLE001 - a missing permission must not stop the write-back
        log.warning(
            "could not read the org's API limits (%s): the usage stop starts with the next answer", error
        )
        return
    usage.limit, usage.used = int(daily["Max"]), int(daily["Max"]) - int(daily["Remaining"])


def finish_object(con: duckdb.DuckDBPyConnection, sf, sent: SentObject) -> SyncResult:
    """Wait for the object's Bulk jobs, record their rows' outcomes (Collections outcomes
    were recorded as each request returned) and mark the jobs reconciled; returns the
    object's figures."""
    result = sent.result
    if not sent.hashes:
        return result  # nothing was sent
    bulk_outcomes = [outcome for job in sent.jobs for outcome in collect_bulk(sf, job)]
    if sent.jobs:
        result.job_ids = sorted({o.job_id for o in bulk_outcomes if o.job_id})
    record_outcomes(con, result.object, sent.run_id, bulk_outcomes, sent.hashes, sent.actions)
    for job_id in result.job_ids:
        con.execute(
            "update ops.crm_sync_jobs set state = 'reconciled', updated_at = ? where job_id = ?",
            [utc_now(), job_id],
        )
    outcomes = sent.outcomes + bulk_outcomes
    result.written = sum(o.status == "success" for o in outcomes)
    result.failed = len(outcomes) - result.written
    if result.failed:
        log.warning("%s %s records failed; they stay pending for the next run", result.failed, result.object)
    return result


def remove_members(
    con: duckdb.DuckDBPyConnection, sf, diff: PayloadDiff, run_id: str, options: SyncOptions
) -> tuple[int, int, int]:
    """Delete the nurture members of ``diff`` (``nurture.removal_diff``) after the dead letters
    and the API usage stop, recording each outcome as it returns (sync log, state,
    ``ops.crm_actions``). Returns (removed, failed, dead letters)."""
    obj, key = diff.object, diff.key
    changed = diff.changed
    dead = set() if options.retry_dead_letters else dead_letter_ids(con, obj, changed, options.max_attempts)
    changed = changed[~changed[key].isin(dead)]
    if changed.empty:
        return 0, 0, len(dead)
    hashes = dict(zip(changed[key], changed["payload_hash"], strict=True))
    outcomes: list[Outcome] = []

    def record(answered: list[Outcome]) -> None:
        record_outcomes(con, obj, run_id, answered, hashes, changed)
        outcomes.extend(answered)

    try:
        nurture.send_deletes(sf, changed, record, api_budget(sf, options.api_usage_stop))
    except ApiBudgetExhausted as stop:
        log.error("%s removals: %s; %d left pending", obj, stop, len(changed) - len(outcomes))
    removed = sum(o.status == "success" for o in outcomes)
    return removed, len(outcomes) - removed, len(dead)
