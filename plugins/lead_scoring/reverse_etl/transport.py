"""Sending rows to the CRM: sObject Collections (200 per call) for small change sets, Bulk
API 2.0 ingest jobs for large ones. Both return one ``Outcome`` per row; neither touches
DuckDB except through the ``JobLedger`` callbacks the bulk path uses for crash safety.

Rows of an object created once (``crm_schema.CREATE_ONCE_KEYS``: handoff Tasks) are keyed by
their External ID and sent as upserts on it (Collections ``PATCH composite/sobjects/<Object>/
<Field>``, Bulk ``upsert`` with ``externalIdFieldName``): a create that is retried, re-sent or
read back can find the record it made, never make a second one."""

from __future__ import annotations

import csv
import io
import logging
import os
import time
from collections.abc import Callable, Iterable, Iterator
from dataclasses import dataclass, replace
from datetime import datetime

import pandas as pd

from lead_scoring import crm_schema
from lead_scoring.crm.bulk import BulkJobs
from lead_scoring.crm.http import AmbiguousWriteError
from lead_scoring.reverse_etl.diff import CONTEXT_PREFIX

log = logging.getLogger(__name__)

COLLECTION_SIZE = 200
BULK_NULL = "#N/A"  # Bulk API 2.0: empty leaves a field unchanged, #N/A sets it null


@dataclass(frozen=True)
class Outcome:
    crm_id: str  # the row's key: the record's Id, or the External ID of an object created once
    status: str  # success | failed
    error: str | None = None
    job_id: str | None = None
    operation: str = "update"  # or, created once: create | found (the CRM already held the key)
    record_id: str | None = None  # the CRM Id of a record created once


def _json_value(value):
    if value is None or value is pd.NaT or (isinstance(value, float) and pd.isna(value)):
        return None
    if isinstance(value, (pd.Timestamp, datetime)):
        return pd.Timestamp(value).strftime("%Y-%m-%dT%H:%M:%S.000Z")
    if isinstance(value, float) and value.is_integer():
        return int(value)
    if hasattr(value, "item"):  # numpy scalars
        return value.item()
    return value if value != "" else None


# The CRM's owner as extracted (a context column of the Lead payload): OwnerId is sent only
# when routing's owner differs from it, so a row sent for its scores never writes back an
# owner a person may have changed in the CRM since.
CRM_OWNER = "_crm_owner_id"
LEAVE = object()  # a cell not to send: left out of a JSON record, empty in a Bulk CSV


def sent_values(changed: pd.DataFrame) -> tuple[list[str], Iterator[list]]:
    """The CRM fields of ``changed`` (``payload_hash`` and context columns dropped) and each
    row's values for them, ``LEAVE`` for an OwnerId the CRM already holds."""
    fields = [c for c in changed.columns if c != "payload_hash" and not c.startswith(CONTEXT_PREFIX)]
    frame = changed[fields].copy()
    if "OwnerId" in frame.columns and CRM_OWNER in changed.columns:
        frame["OwnerId"] = (
            frame["OwnerId"].astype(object).where(frame["OwnerId"] != changed[CRM_OWNER], LEAVE)
        )
    return fields, (list(row) for row in frame.itertuples(index=False))


def json_records(changed: pd.DataFrame) -> list[dict]:
    """Rows as JSON-ready dicts of the CRM fields to send."""
    fields, rows = sent_values(changed)
    return [{f: _json_value(v) for f, v in zip(fields, row, strict=True) if v is not LEAVE} for row in rows]


def bulk_cell(value) -> str:
    if value is LEAVE:
        return ""  # Bulk API 2.0: an empty cell leaves the field as it is
    value = _json_value(value)
    if value is None:
        return BULK_NULL
    if isinstance(value, bool):
        return "true" if value else "false"
    return str(value)


def bulk_csv(changed: pd.DataFrame) -> str:
    fields, rows = sent_values(changed)
    out = io.StringIO()
    writer = csv.writer(out, lineterminator="\n")
    writer.writerow(fields)
    for row in rows:
        writer.writerow([bulk_cell(v) for v in row])
    return out.getvalue()


def _same(kind: str, sent, current) -> bool:
    """Whether the CRM's current value equals what was sent (read-back reconciliation)."""
    if sent is None or current is None:
        return sent is None and current is None
    if kind in {"double", "int"}:
        return abs(float(sent) - float(current)) < 1e-9
    if kind == "datetime":
        return pd.Timestamp(sent).tz_localize(None) == pd.Timestamp(current).tz_convert(None)
    return str(sent) == str(current)


def settle_s_from_env() -> float:
    """``LEADSCORE_SF_SETTLE_S`` (default 30): how long a read-back after an unanswered write
    keeps looking for the values it sent."""
    return float(os.environ.get("LEADSCORE_SF_SETTLE_S") or SETTLE_S)


SETTLE_S = 30.0


def _in_list(keys) -> str:
    return ", ".join("'" + k.replace("\\", "").replace("'", "") + "'" for k in keys)


def find_created(sf, obj: str, keys: list[str]) -> dict[str, str]:
    """External ID → CRM Id of the records of ``obj`` (created once) that exist for ``keys``."""
    key = crm_schema.key_field(obj)
    found: dict[str, str] = {}
    for start in range(0, len(keys), COLLECTION_SIZE):
        chunk = keys[start : start + COLLECTION_SIZE]
        soql = f"SELECT Id, {key} FROM {obj} WHERE {key} IN ({_in_list(chunk)})"
        found.update({r[key]: r["Id"] for r in sf.query_all(soql)["records"]})
    return found


def read_back(
    sf,
    obj: str,
    records: list[dict],
    settle_s: float | None = None,
    sleep: Callable[[float], None] = time.sleep,
) -> list[Outcome]:
    """After an unanswered write: a record counts as written only if the CRM holds exactly
    the values that were sent (so it is neither lost nor re-sent); a record created once, if
    the CRM holds a record with its External ID. A request whose client timed out may still
    be running on the CRM's side: records not holding the sent values yet are read again, with
    backoff, for up to ``settle_s`` seconds; only those still different then count as failed
    (pending: a later run sends them)."""
    settle_s = settle_s_from_env() if settle_s is None else settle_s
    key = crm_schema.key_field(obj)
    fields = list(dict.fromkeys(f for r in records for f in r if f != key))  # (OwnerId may be left out)
    types = crm_schema.OBJECTS[obj]
    waiting = {r[key]: r for r in records}
    created: dict[str, str] = {}
    deadline, delay = time.monotonic() + settle_s, 0.5
    while True:
        if key != "Id":
            created.update(find_created(sf, obj, list(waiting)))
            waiting = {k: r for k, r in waiting.items() if k not in created}
        else:
            soql = f"SELECT Id, {', '.join(fields)} FROM {obj} WHERE Id IN ({_in_list(waiting)})"
            for found in sf.query_all(soql)["records"]:
                sent = waiting.get(found["Id"])
                if sent is not None and all(
                    _same(types[f], v, found.get(f)) for f, v in sent.items() if f != "Id"
                ):
                    del waiting[found["Id"]]
        left = deadline - time.monotonic()
        if not waiting or left <= 0:
            break
        log.info(
            "%d %s records %s yet: reading again in %.1fs",
            len(waiting),
            obj,
            "do not hold the sent values" if key == "Id" else "are not in the CRM",
            delay,
        )
        sleep(min(delay, left))
        delay = min(delay * 2, 5.0)
    if key != "Id":
        return [
            Outcome(
                r[key], "failed", "no answer from the CRM and not created; will retry", operation="create"
            )
            if r[key] in waiting
            else Outcome(r[key], "success", operation="create", record_id=created[r[key]])
            for r in records
        ]
    return [
        Outcome(r["Id"], "failed", "no answer from the CRM and not applied; will retry")
        if r["Id"] in waiting
        else Outcome(r["Id"], "success")
        for r in records
    ]


class ApiBudgetExhausted(RuntimeError):
    """The org's daily API usage reached the stop share: the rows not sent stay pending."""


def send_collections(
    sf,
    obj: str,
    changed: pd.DataFrame,
    record: Callable[[list[Outcome]], None],
    check_budget: Callable[[], None] = lambda: None,
) -> list[Outcome]:
    """PATCH composite/sobjects in chunks of 200, allOrNone false: one outcome per row, handed
    to ``record`` as each request returns (an error later in the run loses no outcome, so
    nothing is sent twice). An object created once is upserted on its External ID
    (``composite/sobjects/<Object>/<Field>``). ``check_budget`` runs before each request and
    raises ``ApiBudgetExhausted`` to stop: the rows not sent stay pending."""
    records = json_records(changed)
    key = crm_schema.key_field(obj)
    path = "composite/sobjects" if key == "Id" else f"composite/sobjects/{obj}/{key}"
    outcomes: list[Outcome] = []
    for start in range(0, len(records), COLLECTION_SIZE):
        check_budget()
        chunk = records[start : start + COLLECTION_SIZE]
        body = {"allOrNone": False, "records": [{"attributes": {"type": obj}, **r} for r in chunk]}
        try:
            results = sf.restful(path, method="PATCH", json=body)
        except AmbiguousWriteError:
            log.warning("no answer for %d %s records: reading them back", len(chunk), obj)
            answered = read_back(sf, obj, chunk)
        else:
            answered = [_collection_outcome(r, result, key) for r, result in zip(chunk, results, strict=True)]
        record(answered)
        outcomes.extend(answered)
    return outcomes


def _collection_outcome(record: dict, result: dict, key: str = "Id") -> Outcome:
    if key != "Id":  # an upsert: created, or the CRM already held the key (an earlier unanswered send)
        if result.get("success"):
            operation = "create" if result.get("created") else "found"
            return Outcome(record[key], "success", operation=operation, record_id=result.get("id"))
        errors = "; ".join(f"{e.get('statusCode')}: {e.get('message')}" for e in result.get("errors", []))
        return Outcome(record[key], "failed", errors or "rejected by the CRM", operation="create")
    if result.get("success"):
        return Outcome(record["Id"], "success")
    errors = "; ".join(f"{e.get('statusCode')}: {e.get('message')}" for e in result.get("errors", []))
    return Outcome(record["Id"], "failed", errors or "rejected by the CRM")


@dataclass
class JobLedger:
    """Callbacks that persist a bulk job before data is sent (crash safety)."""

    opened: Callable[[str, list[str]], None]  # job_id, crm_ids: committed before upload
    uploaded: Callable[[str], None]  # job closed: the CRM will process it
    aborted: Callable[[str], None]


class Bulk2(BulkJobs):
    """The Bulk API 2.0 ingest calls, through the simple-salesforce session (retries included)."""

    def __init__(self, sf) -> None:
        super().__init__(sf, "ingest")

    def create(self, obj: str) -> str:
        """An ``update`` job, or for an object created once an ``upsert`` on its External ID."""
        key = crm_schema.key_field(obj)
        body = {"object": obj, "operation": "update", "contentType": "CSV", "lineEnding": "LF"}
        if key != "Id":
            body.update(operation="upsert", externalIdFieldName=key)
        return self._call("POST", json=body).json()["id"]

    def upload(self, job_id: str, data: str) -> None:
        self._call(
            "PUT", f"/{job_id}/batches", data=data.encode("utf-8"), headers={"Content-Type": "text/csv"}
        )

    def set_state(self, job_id: str, state: str) -> None:
        self._call("PATCH", f"/{job_id}", json={"state": state})

    def results(
        self, job_id: str, ids: Iterable[str], info: dict | None = None, key: str = "Id"
    ) -> list[Outcome]:
        """Per-row outcomes of a finished job; rows it never processed count as failed.
        With the finished job's ``info`` (this run uploaded exactly ``ids``), a job whose
        counters say every row was processed and none failed succeeded row for row, so no
        result list is fetched (three API calls and a download the size of the upload saved);
        otherwise only the lists its counters say are not empty. Without ``info`` (a job an
        interrupted run left) every list is read. ``key``: the column naming a row (an
        upsert's External ID); an upsert's successful results are always read, for the Ids
        of the records it created."""
        ids = list(ids)
        upsert = key != "Id"
        if (
            info is not None
            and not upsert
            and info.get("numberRecordsFailed") == 0
            and info.get("numberRecordsProcessed") == len(ids)
        ):
            return [Outcome(i, "success", None, job_id) for i in ids]
        kinds = ["successfulResults", "failedResults", "unprocessedrecords"]
        if info is not None:
            if info.get("numberRecordsFailed") == 0:
                kinds.remove("failedResults")
            if info.get("numberRecordsProcessed") == len(ids):
                kinds.remove("unprocessedrecords")
        operation = "create" if upsert else "update"
        outcomes: dict[str, Outcome] = {}
        for kind in kinds:
            text = self._call("GET", f"/{job_id}/{kind}/").text
            for row in csv.DictReader(io.StringIO(text)) if text else []:
                crm_id = row.get(key) if upsert else (row.get("Id") or row.get("sf__Id"))
                if kind == "successfulResults" and upsert:
                    created = row.get("sf__Created", "").lower() == "true"
                    outcomes[crm_id] = Outcome(
                        crm_id, "success", None, job_id, "create" if created else "found", row.get("sf__Id")
                    )
                elif kind == "successfulResults":
                    outcomes[crm_id] = Outcome(crm_id, "success", None, job_id)
                elif kind == "failedResults":
                    outcomes[crm_id] = Outcome(crm_id, "failed", row.get("sf__Error"), job_id, operation)
                else:
                    outcomes[crm_id] = Outcome(crm_id, "failed", NOT_PROCESSED[0], job_id, operation)
        return [outcomes.get(i, Outcome(i, "failed", NOT_PROCESSED[1], job_id, operation)) for i in ids]


# Salesforce takes at most 150 MB per job upload and recommends 100 MB of CSV (it grows when
# base64-encoded); a big upload also outlasts the client's timeout and is then aborted.
BULK_JOB_MAX_BYTES = 100_000_000


def bulk_parts(
    changed: pd.DataFrame, max_rows: int, max_bytes: int = BULK_JOB_MAX_BYTES
) -> Iterator[tuple[pd.DataFrame, str]]:
    """``changed`` in pieces of at most ``max_rows`` rows and ``max_bytes`` of CSV (a piece
    over the size is halved until it fits), each with its CSV: one Bulk job each."""
    step = max(1, max_rows)
    for start in range(0, len(changed), step):
        yield from _fitting(changed.iloc[start : start + step], max_bytes)


def _fitting(part: pd.DataFrame, max_bytes: int) -> Iterator[tuple[pd.DataFrame, str]]:
    data = bulk_csv(part)
    if len(part) <= 1 or len(data.encode("utf-8")) <= max_bytes:
        yield part, data
        return
    half = len(part) // 2
    yield from _fitting(part.iloc[:half], max_bytes)
    yield from _fitting(part.iloc[half:], max_bytes)


# A job just closed is never finished yet: the first look at it comes this long after the close.
FIRST_LOOK_S = 0.5


@dataclass
class SubmittedJob:
    """A Bulk job this run uploaded and closed (``closed_at``: ``time.monotonic()``), or one
    that ended before the CRM could process it (``outcomes`` already known)."""

    job_id: str
    ids: list[str]
    closed_at: float = 0.0
    outcomes: list[Outcome] | None = None
    key: str = "Id"  # the column naming a row: an upsert's External ID


def submit_bulk(sf, obj: str, changed: pd.DataFrame, data: str, ledger: JobLedger) -> SubmittedJob:
    """One Bulk API 2.0 update job (an upsert on the External ID for an object created once)
    for ``changed`` (``data``: its CSV, from ``bulk_parts``): create, persist (ledger), upload,
    close; ``collect_bulk`` waits for it. The CRM processes a closed job while the next one is
    built and uploaded.
    If the upload gets no answer the job is aborted (nothing in it is processed) and the
    rows stay pending; a crash after closing is reconciled by the next run from the ledger."""
    bulk = Bulk2(sf)
    key = crm_schema.key_field(obj)
    ids = list(changed[key])
    job_id = bulk.create(obj)
    ledger.opened(job_id, ids)
    try:
        bulk.upload(job_id, data)
    except AmbiguousWriteError:
        bulk.set_state(job_id, "Aborted")
        ledger.aborted(job_id)
        failed = [Outcome(i, "failed", "upload got no answer; job aborted, will retry", job_id) for i in ids]
        return SubmittedJob(job_id, ids, outcomes=failed, key=key)
    try:
        bulk.set_state(job_id, "UploadComplete")
    except AmbiguousWriteError:
        if bulk.info(job_id)["state"] == "Open":
            bulk.set_state(job_id, "UploadComplete")
    ledger.uploaded(job_id)
    return SubmittedJob(job_id, ids, closed_at=time.monotonic(), key=key)


def collect_bulk(sf, job: SubmittedJob) -> list[Outcome]:
    """Wait for a submitted job (its first look ``FIRST_LOOK_S`` after its close, so a job
    that finished while later ones were uploaded costs one call) and return its outcomes."""
    if job.outcomes is not None:
        return job.outcomes
    bulk = Bulk2(sf)
    first_look = max(0.0, FIRST_LOOK_S - (time.monotonic() - job.closed_at))
    info = bulk.wait(job.job_id, first_delay_s=first_look)
    return finished_job_outcomes(bulk, job.job_id, job.ids, info, uploaded_here=True, key=job.key)


def finished_job_outcomes(
    bulk: Bulk2, job_id: str, ids: list[str], info: dict, uploaded_here: bool, key: str = "Id"
) -> list[Outcome]:
    """The outcome of each row of a finished job. A job that ended ``Failed`` or ``Aborted``
    after processing some rows applied those: its result lists say which succeeded, and only
    the rows it failed or never processed stay pending. ``uploaded_here``: this run uploaded
    exactly ``ids``, so the job's counters can spare reading the result lists. ``key``: the
    column naming a row (an upsert's External ID)."""
    state = info["state"]
    if state == "JobComplete":
        return bulk.results(job_id, ids, info if uploaded_here else None, key=key)
    reason = f"bulk job {state}" + (f": {info['errorMessage']}" if info.get("errorMessage") else "")
    if not info.get("numberRecordsProcessed"):
        return [Outcome(i, "failed", f"{reason}; will retry", job_id) for i in ids]
    outcomes = bulk.results(job_id, ids, key=key)
    log.warning(
        "%s after processing %s of %d rows: their results are kept, the rest stay pending",
        reason,
        info.get("numberRecordsProcessed"),
        len(ids),
    )
    return [
        replace(o, error=f"{reason} before this row was processed; will retry")
        if o.status == "failed" and o.error in NOT_PROCESSED
        else o
        for o in outcomes
    ]


NOT_PROCESSED = ("unprocessed by the CRM", "no result returned by the CRM")
