"""Bulk API 2.0 ingest jobs: create, upload CSV, close/abort, poll, results, list, delete.

Jobs, their uploaded data and their per-row results are persisted in SQLite, so they survive
a restart (a job closed but not yet processed is processed after the restart). Processing
runs in one background thread, one job at a time, each job in one transaction: a crash
mid-job leaves nothing half-applied. CSV semantics are Salesforce's: an empty cell leaves
the field unchanged, ``#N/A`` sets it to null.
"""

from __future__ import annotations

import csv
import io
import json
import queue
import sqlite3
import threading
import time
from collections.abc import Iterable
from datetime import UTC, datetime, timedelta
from typing import Any

from crm_sandbox import store as st
from crm_sandbox.errors import ApiError
from crm_sandbox.faults import FaultInjector
from crm_sandbox.usage import UsageCounter
from lead_scoring import crm_schema

OPERATIONS = ("insert", "update", "upsert", "delete", "hardDelete")
DELIMITERS = {
    "COMMA": ",",
    "TAB": "\t",
    "PIPE": "|",
    "SEMICOLON": ";",
    "CARET": "^",
    "BACKQUOTE": "`",
}
LINE_ENDINGS = ("LF", "CRLF")
RESULT_KINDS = {
    "successfulresults": "successful",
    "failedresults": "failed",
    "unprocessedrecords": "unprocessed",
}
MAX_UPLOAD_BYTES = 150 * 1024 * 1024
JOB_RETENTION_DAYS = 7
LIST_PAGE_SIZE = 1000
SANDBOX_USER_ID = st.id18("005SB0000000001")


class _Aborted(Exception):
    """The job was aborted while it was being processed."""


def _invalid_state(message: str) -> ApiError:
    return ApiError(409, "INVALIDJOBSTATE", message)


class BulkManager:
    """Bulk API 2.0 ingest jobs on a :class:`~crm_sandbox.store.Store`."""

    def __init__(self, store: st.Store, faults: FaultInjector, usage: UsageCounter | None = None) -> None:
        self.store = store
        self.faults = faults
        self._usage = usage  # the worker's time on each job counts as the server's busy time
        self._queue: queue.Queue[str | None] = queue.Queue()
        self._thread: threading.Thread | None = None
        self._abort_requested: set[str] = set()
        self._lock = threading.Lock()

    # -- lifecycle -----------------------------------------------------------------------
    def start(self) -> None:
        """Purge expired jobs, re-queue the jobs left closed-but-unprocessed, start the worker."""
        cutoff = st.format_datetime(datetime.now(UTC) - timedelta(days=JOB_RETENTION_DAYS))
        with self.store.write() as conn:
            old = [r[0] for r in conn.execute("SELECT id FROM _bulk_jobs WHERE created_date < ?", (cutoff,))]
            for job_id in old:
                self._delete_rows(conn, job_id)
            conn.execute("UPDATE _bulk_jobs SET state = 'UploadComplete' WHERE state = 'InProgress'")
            pending = [
                r[0]
                for r in conn.execute(
                    "SELECT id FROM _bulk_jobs WHERE state = 'UploadComplete' ORDER BY created_date"
                )
            ]
        for job_id in pending:
            self._queue.put(job_id)
        self._thread = threading.Thread(target=self._worker, name="bulk-ingest", daemon=True)
        self._thread.start()

    def stop(self, timeout: float = 10.0) -> None:
        """Stop the worker after the job in progress (if any)."""
        if self._thread is not None:
            self._queue.put(None)
            self._thread.join(timeout)

    def wait_idle(self, timeout: float = 30.0) -> bool:
        """Wait until every queued job is processed (for tests). True if idle."""
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            if self._queue.unfinished_tasks == 0:
                return True
            time.sleep(0.02)
        return False

    # -- API -----------------------------------------------------------------------------
    def create_job(self, body: Any, version: str) -> dict[str, Any]:
        """``POST /jobs/ingest``."""
        if not isinstance(body, dict):
            raise ApiError(400, "JSON_PARSER_ERROR", "The request body must be a JSON object")
        obj_name = body.get("object")
        obj = st.canonical_object(obj_name) if isinstance(obj_name, str) else None
        if obj is None:
            raise ApiError(
                400, "INVALIDENTITY", f"sObject type '{obj_name}' is not supported by the Bulk API"
            )
        operation = body.get("operation")
        if operation not in OPERATIONS:
            raise ApiError(
                400,
                "INVALIDJOB",
                f"InvalidJob : Invalid operation '{operation}'; use one of {', '.join(OPERATIONS)}",
            )
        content_type = body.get("contentType", "CSV")
        if content_type != "CSV":
            raise ApiError(400, "INVALIDJOB", "InvalidJob : contentType must be CSV")
        line_ending = body.get("lineEnding", "LF")
        if line_ending not in LINE_ENDINGS:
            raise ApiError(400, "INVALIDJOB", "InvalidJob : lineEnding must be LF or CRLF")
        delimiter = body.get("columnDelimiter", "COMMA")
        if delimiter not in DELIMITERS:
            raise ApiError(
                400,
                "INVALIDJOB",
                f"InvalidJob : columnDelimiter must be one of {', '.join(DELIMITERS)}",
            )
        ext_field = None
        if operation == "upsert":
            raw_ext = body.get("externalIdFieldName")
            ext_field = st.canonical_field(obj, raw_ext) if isinstance(raw_ext, str) else None
            if ext_field is None:
                raise ApiError(
                    400,
                    "INVALIDJOB",
                    f"InvalidJob : externalIdFieldName '{raw_ext}' is not a field of {obj}",
                )
        if operation in ("delete", "hardDelete") and not crm_schema.has_soft_delete(obj):
            raise ApiError(400, "INVALIDJOB", f"InvalidJob : {obj} records cannot be deleted")
        job_id = st.new_key("750")
        stamp = st.now_stamp()
        with self.store.write() as conn:
            conn.execute(
                "INSERT INTO _bulk_jobs (id, object, operation, external_id_field, state, "
                "content_type, line_ending, column_delimiter, api_version, created_date, "
                "system_modstamp) VALUES (?, ?, ?, ?, 'Open', 'CSV', ?, ?, ?, ?, ?)",
                (job_id, obj, operation, ext_field, line_ending, delimiter, version, stamp, stamp),
            )
        return self.get_job(job_id, version, brief=True)

    def upload(self, job_id: str, data: bytes) -> None:
        """``PUT /jobs/ingest/<id>/batches`` (HTTP 201)."""
        if not data:
            raise ApiError(400, "INVALIDBATCH", "InvalidBatch : the CSV data is empty")
        if len(data) > MAX_UPLOAD_BYTES:
            raise ApiError(400, "INVALIDBATCH", "InvalidBatch : the CSV data exceeds 150 MB")
        with self.store.write() as conn:
            job = self._job_row(conn, job_id)
            if job["state"] != "Open":
                raise _invalid_state(
                    f"Data can only be uploaded to an Open job; job {job_id} is {job['state']}"
                )
            seq = conn.execute(
                "SELECT coalesce(max(seq), 0) + 1 FROM _bulk_job_data WHERE job_id = ?", (job_id,)
            ).fetchone()[0]
            conn.execute(
                "INSERT INTO _bulk_job_data (job_id, seq, data) VALUES (?, ?, ?)",
                (job_id, seq, data),
            )
            conn.execute("UPDATE _bulk_jobs SET system_modstamp = ? WHERE id = ?", (st.now_stamp(), job_id))

    def set_state(self, job_id: str, body: Any, version: str) -> dict[str, Any]:
        """``PATCH /jobs/ingest/<id>`` with ``{"state": "UploadComplete" | "Aborted"}``."""
        state = body.get("state") if isinstance(body, dict) else None
        if state == "UploadComplete":
            with self.store.write() as conn:
                job = self._job_row(conn, job_id)
                if job["state"] != "Open":
                    raise _invalid_state(f"Job {job_id} is {job['state']}, not Open")
                conn.execute(
                    "UPDATE _bulk_jobs SET state = 'UploadComplete', system_modstamp = ? WHERE id = ?",
                    (st.now_stamp(), job_id),
                )
            self._queue.put(job_id)
        elif state == "Aborted":
            with self._lock:
                self._abort_requested.add(job_id)
            try:
                with self.store.write() as conn:
                    job = self._job_row(conn, job_id)
                    cur = conn.execute(
                        "UPDATE _bulk_jobs SET state = 'Aborted', system_modstamp = ? "
                        "WHERE id = ? AND state IN ('Open', 'UploadComplete', 'InProgress')",
                        (st.now_stamp(), job_id),
                    )
                    if cur.rowcount == 0:
                        raise _invalid_state(f"Job {job_id} is {job['state']} and cannot be aborted")
            finally:
                with self._lock:
                    self._abort_requested.discard(job_id)
        else:
            raise ApiError(400, "INVALIDJOBSTATE", f"state must be UploadComplete or Aborted, got {state!r}")
        return self.get_job(job_id, version, brief=True)

    def get_job(self, job_id: str, version: str, brief: bool = False) -> dict[str, Any]:
        """``GET /jobs/ingest/<id>``."""
        with self.store.read() as conn:
            job = self._job_row(conn, job_id)
        return self._job_json(job, version, brief)

    def list_jobs(self, locator: str | None, version: str) -> dict[str, Any]:
        """``GET /jobs/ingest[?queryLocator=n]``: every ingest job, oldest first."""
        offset = 0
        if locator:
            if not locator.isdigit():
                raise ApiError(400, "INVALID_QUERY_LOCATOR", "invalid queryLocator")
            offset = int(locator)
        with self.store.read() as conn:
            rows = conn.execute(
                "SELECT * FROM _bulk_jobs ORDER BY created_date, id LIMIT ? OFFSET ?",
                (LIST_PAGE_SIZE + 1, offset),
            ).fetchall()
            cols = [d[0] for d in conn.execute("SELECT * FROM _bulk_jobs LIMIT 0").description]
        jobs = [dict(zip(cols, row, strict=True)) for row in rows]
        more = len(jobs) > LIST_PAGE_SIZE
        jobs = jobs[:LIST_PAGE_SIZE]
        return {
            "done": not more,
            "records": [self._job_json(job, version, brief=True) for job in jobs],
            "nextRecordsUrl": (
                f"/services/data/v{version}/jobs/ingest?queryLocator={offset + LIST_PAGE_SIZE}"
                if more
                else None
            ),
        }

    def results(self, job_id: str, kind: str) -> str:
        """The successful/failed/unprocessed records of a job as CSV."""
        kind = RESULT_KINDS[kind.lower()]
        with self.store.read() as conn:
            job = self._job_row(conn, job_id)
            header = self._header(conn, job_id, job)
            out = io.StringIO()
            writer = csv.writer(out, quoting=csv.QUOTE_ALL, lineterminator="\n")
            if kind == "successful":
                writer.writerow(["sf__Id", "sf__Created", *header])
                for sf_id, created, row_json in conn.execute(
                    "SELECT sf_id, created, row_json FROM _bulk_job_results "
                    "WHERE job_id = ? AND error IS NULL ORDER BY line",
                    (job_id,),
                ):
                    writer.writerow([sf_id, "true" if created else "false", *json.loads(row_json)])
            elif kind == "failed":
                writer.writerow(["sf__Id", "sf__Error", *header])
                for sf_id, error, row_json in conn.execute(
                    "SELECT sf_id, error, row_json FROM _bulk_job_results "
                    "WHERE job_id = ? AND error IS NOT NULL ORDER BY line",
                    (job_id,),
                ):
                    writer.writerow([sf_id or "", error, *json.loads(row_json)])
            else:
                writer.writerow(header)
                if job["state"] in ("Aborted", "Failed"):
                    done = {
                        r[0]
                        for r in conn.execute(
                            "SELECT line FROM _bulk_job_results WHERE job_id = ?", (job_id,)
                        )
                    }
                    try:
                        _, rows = self._parse(conn, job_id, job)
                    except ValueError:
                        rows = []
                    for line, row in enumerate(rows, 1):
                        if line not in done:
                            writer.writerow(row)
        return out.getvalue()

    def delete_job(self, job_id: str) -> None:
        """``DELETE /jobs/ingest/<id>`` (HTTP 204); only for closed, aborted or failed jobs."""
        with self.store.write() as conn:
            job = self._job_row(conn, job_id)
            if job["state"] in ("Open", "InProgress"):
                raise _invalid_state(
                    f"Job {job_id} is {job['state']}; only UploadComplete, JobComplete, Aborted "
                    "or Failed jobs can be deleted"
                )
            if job["state"] == "UploadComplete":
                with self._lock:
                    self._abort_requested.add(job_id)
            self._delete_rows(conn, job_id)

    # -- internals -----------------------------------------------------------------------
    @staticmethod
    def _delete_rows(conn: sqlite3.Connection, job_id: str) -> None:
        for table in ("_bulk_job_results", "_bulk_job_data"):
            conn.execute(f"DELETE FROM {table} WHERE job_id = ?", (job_id,))
        conn.execute("DELETE FROM _bulk_jobs WHERE id = ?", (job_id,))

    @staticmethod
    def _job_row(conn: sqlite3.Connection, job_id: str) -> dict[str, Any]:
        cur = conn.execute("SELECT * FROM _bulk_jobs WHERE id = ?", (job_id,))
        row = cur.fetchone()
        if row is None:
            raise ApiError(404, "NOT_FOUND", f"Job {job_id} does not exist")
        return dict(zip([d[0] for d in cur.description], row, strict=True))

    @staticmethod
    def _job_json(job: dict[str, Any], version: str, brief: bool) -> dict[str, Any]:
        out: dict[str, Any] = {
            "id": job["id"],
            "operation": job["operation"],
            "object": job["object"],
            "createdById": SANDBOX_USER_ID,
            "createdDate": job["created_date"],
            "systemModstamp": job["system_modstamp"],
            "state": job["state"],
        }
        if job["external_id_field"]:
            out["externalIdFieldName"] = job["external_id_field"]
        out.update(
            {
                "concurrencyMode": "Parallel",
                "contentType": job["content_type"],
                "apiVersion": float(job["api_version"]),
                "jobType": "V2Ingest",
                "lineEnding": job["line_ending"],
                "columnDelimiter": job["column_delimiter"],
            }
        )
        if brief:
            if job["state"] == "Open":
                out["contentUrl"] = f"services/data/v{job['api_version']}/jobs/ingest/{job['id']}/batches"
            return out
        out.update(
            {
                "numberRecordsProcessed": job["records_processed"],
                "numberRecordsFailed": job["records_failed"],
                "retries": 0,
                "totalProcessingTime": job["processing_ms"],
                "apiActiveProcessingTime": job["processing_ms"],
                "apexProcessingTime": 0,
            }
        )
        if job["error_message"]:
            out["errorMessage"] = job["error_message"]
        return out

    def _text(self, conn: sqlite3.Connection, job_id: str) -> list[str]:
        chunks = []
        for (data,) in conn.execute(
            "SELECT data FROM _bulk_job_data WHERE job_id = ? ORDER BY seq", (job_id,)
        ):
            raw = bytes(data)
            try:
                text = raw.decode("utf-8-sig")
            except UnicodeDecodeError:
                raise ValueError("InvalidBatch : the CSV data is not valid UTF-8") from None
            chunks.append(text)
        return chunks

    def _parse(
        self, conn: sqlite3.Connection, job_id: str, job: dict[str, Any]
    ) -> tuple[list[str], list[list[str]]]:
        """(header, rows) of every upload; later uploads must repeat the first header."""
        delimiter = DELIMITERS[job["column_delimiter"]]
        header: list[str] | None = None
        rows: list[list[str]] = []
        for text in self._text(conn, job_id):
            reader = csv.reader(io.StringIO(text, newline=""), delimiter=delimiter)
            try:
                this_header = next(reader)
            except StopIteration:
                continue
            if header is None:
                header = this_header
            elif this_header != header:
                raise ValueError("InvalidBatch : every upload of a job must have the same header")
            rows.extend(row for row in reader if row)
        if header is None:
            raise ValueError("InvalidBatch : no data was uploaded")
        return header, rows

    def _header(self, conn: sqlite3.Connection, job_id: str, job: dict[str, Any]) -> list[str]:
        row = conn.execute(
            "SELECT data FROM _bulk_job_data WHERE job_id = ? ORDER BY seq LIMIT 1", (job_id,)
        ).fetchone()
        if row is None:
            return []
        text = bytes(row[0]).decode("utf-8-sig", errors="replace")
        first = next(
            csv.reader(io.StringIO(text, newline=""), delimiter=DELIMITERS[job["column_delimiter"]]), []
        )
        return first

    def _worker(self) -> None:
        while True:
            job_id = self._queue.get()
            started = self._usage.start_busy() if self._usage is not None and job_id is not None else 0.0
            try:
                if job_id is None:
                    return
                self._process(job_id)
                with self._lock:
                    self._abort_requested.discard(job_id)
            except Exception as exc:  # noqa: BLE001 - a job failure must not kill the worker
                self._fail(job_id, f"InternalError : {type(exc).__name__}")
            finally:
                if job_id is not None and self._usage is not None:
                    self._usage.end_busy("bulk_processing", started)
                self._queue.task_done()

    def _fail(self, job_id: str | None, message: str) -> None:
        if job_id is None:
            return
        try:
            with self.store.write() as conn:
                conn.execute(
                    "UPDATE _bulk_jobs SET state = 'Failed', error_message = ?, "
                    "system_modstamp = ? "
                    "WHERE id = ? AND state IN ('UploadComplete', 'InProgress')",
                    (message, st.now_stamp(), job_id),
                )
        except sqlite3.Error:
            pass

    def _aborted(self, job_id: str) -> bool:
        with self._lock:
            return job_id in self._abort_requested

    def _process(self, job_id: str) -> None:
        with self.store.write() as conn:
            try:
                job = self._job_row(conn, job_id)
            except ApiError:
                return  # deleted meanwhile
            if job["state"] != "UploadComplete":
                return
            conn.execute(
                "UPDATE _bulk_jobs SET state = 'InProgress', system_modstamp = ? WHERE id = ?",
                (st.now_stamp(), job_id),
            )
        started = time.monotonic()
        with self.store.read() as conn:
            try:
                header, rows = self._parse(conn, job_id, job)
                fields = self._check_header(job, header)
            except ValueError as exc:
                self._fail(job_id, str(exc))
                return
        # an injected job failure: the first half of the rows is applied, then the job fails
        failure = None
        if self.faults.draw_job():
            failure = (
                f"InternalServerError : job failed after {len(rows) // 2} of {len(rows)} records (injected)"
            )
            rows = rows[: len(rows) // 2]
        try:
            with self.store.write() as conn:
                results = list(self._apply(conn, job, header, fields, rows))
                conn.executemany(
                    "INSERT INTO _bulk_job_results (job_id, line, sf_id, created, error, row_json) "
                    "VALUES (?, ?, ?, ?, ?, ?)",
                    results,
                )
                failed = sum(1 for r in results if r[4] is not None)
                cur = conn.execute(
                    "UPDATE _bulk_jobs SET state = ?, error_message = ?, records_processed = ?, "
                    "records_failed = ?, processing_ms = ?, system_modstamp = ? "
                    "WHERE id = ? AND state = 'InProgress'",
                    (
                        "Failed" if failure else "JobComplete",
                        failure,
                        len(results),
                        failed,
                        int((time.monotonic() - started) * 1000),
                        st.now_stamp(),
                        job_id,
                    ),
                )
                if cur.rowcount == 0:
                    raise _Aborted()
        except _Aborted:
            with self.store.write() as conn:
                conn.execute(
                    "UPDATE _bulk_jobs SET state = 'Aborted', system_modstamp = ? "
                    "WHERE id = ? AND state IN ('UploadComplete', 'InProgress')",
                    (st.now_stamp(), job_id),
                )

    @staticmethod
    def _check_header(job: dict[str, Any], header: list[str]) -> list[str]:
        obj = job["object"]
        fields = []
        for name in header:
            field = st.canonical_field(obj, name.strip())
            if field is None:
                raise ValueError(f"InvalidBatch : Field name not found : {name}")
            if field in fields:
                raise ValueError(f"InvalidBatch : Duplicate field name : {name}")
            fields.append(field)
        op = job["operation"]
        if op in ("update", "delete", "hardDelete") and "Id" not in fields:
            raise ValueError(f"InvalidBatch : The Id field is required for the {op} operation")
        if op in ("delete", "hardDelete") and fields != ["Id"]:
            raise ValueError(f"InvalidBatch : The {op} operation takes only the Id column")
        if op == "upsert" and job["external_id_field"] not in fields:
            raise ValueError(
                f"InvalidBatch : Field name not found : {job['external_id_field']} "
                "(the external id column of an upsert)"
            )
        return fields

    def _apply(
        self,
        conn: sqlite3.Connection,
        job: dict[str, Any],
        header: list[str],
        fields: list[str],
        rows: Iterable[list[str]],
    ) -> Iterable[tuple[Any, ...]]:
        obj = job["object"]
        op = job["operation"]
        ext = job["external_id_field"]
        # the header is resolved once for the job's rows (prepare_values, per row, did it each time)
        skipped = {"insert": (), "update": ("Id",), "upsert": (ext,)}.get(op, ())
        prepare = st.csv_row_preparer(obj, fields, allowed_keys=skipped)
        for line, row in enumerate(rows, 1):
            if line % 1000 == 0 and self._aborted(job["id"]):
                raise _Aborted()
            record_id: str | None = None
            try:
                if len(row) != len(fields):
                    raise st.RowError(
                        "INVALID_FIELD",
                        f"the row has {len(row)} values but the header has {len(fields)} columns",
                        [],
                    )
                raw = dict(zip(fields, row, strict=True))
                if "Id" in raw and raw["Id"]:
                    rid = raw["Id"]
                    record_id = st.normalize_id(rid) if st.is_valid_id(rid) else rid
                if self.faults.draw_row():
                    raise st.RowError(
                        "UNABLE_TO_LOCK_ROW",
                        "unable to obtain exclusive access to this record or 1 records: "
                        f"{record_id or ''}".rstrip(),
                        [],
                    )
                created = False
                if op == "insert":
                    record_id = st.insert_row(conn, obj, prepare(row))
                    created = True
                elif op == "update":
                    if not raw.get("Id"):
                        raise st.RowError("MISSING_ARGUMENT", "Id not specified in an update call", ["Id"])
                    record_id = st.update_row(conn, obj, raw["Id"], prepare(row))
                elif op == "upsert":
                    values = prepare(row)
                    key = raw.get(ext) or None
                    if key == "#N/A":
                        key = None
                    record_id, created = st.upsert_row(conn, obj, ext, key, values)
                else:
                    if not raw.get("Id"):
                        raise st.RowError("MISSING_ARGUMENT", "Id not specified in a delete call", ["Id"])
                    record_id = st.delete_row(conn, obj, raw["Id"], hard=(op == "hardDelete"))
                yield (job["id"], line, record_id, int(created), None, json.dumps(row))
            except st.RowError as err:
                error = f"{err.status_code}:{err.message}:{','.join(err.fields) or '--'}"
                yield (job["id"], line, record_id, None, error, json.dumps(row))
