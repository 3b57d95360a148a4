"""The CRM sandbox HTTPS server: Salesforce REST (the subset simple-salesforce calls) on SQLite.

Run it with ``python -m crm_sandbox.server --sandbox-dir DIR [--db FILE] [--port N]``
(``leadscore sandbox serve`` does this in the background). Endpoints, under
``/services/data/vNN.N/`` (any API version):

- ``query/?q=``, ``queryAll/?q=``, ``query/<locator>-<offset>`` (paging, consistent snapshot);
- ``sobjects/``, ``sobjects/<Obj>/``, ``sobjects/<Obj>/describe/``,
  ``sobjects/<Obj>/<Id>`` (GET/PATCH/DELETE: a soft delete), ``sobjects/<Obj>/<ExtField>/<value>``
  (GET/PATCH);
- ``sobjects/<Obj>/deleted/?start=&end=`` (getDeleted: the delete log, which every delete,
  Bulk ``hardDelete`` and merge writes; see ``records.get_deleted``);
- ``composite/sobjects`` (POST/PATCH/DELETE), ``composite/sobjects/<Obj>`` (GET),
  ``composite/sobjects/<Obj>/<ExtField>`` (PATCH);
- ``jobs/ingest`` and ``jobs/ingest/<id>[/batches|/successfulResults|/failedResults|
  /unprocessedrecords]`` (Bulk API 2.0 ingest);
- ``jobs/query`` (POST), ``jobs/query/<id>`` and ``jobs/query/<id>/results?locator=&maxRecords=``
  (Bulk API 2.0 query: CSV pages);
- ``limits/``.

Every response carries the sandbox clock in its ``Date`` header, as Salesforce's carry its
server time (what the extract ends its window at).

Sandbox endpoints (never subject to faults, not counted as API calls): ``GET /_sandbox/health``
(no auth), ``GET /_sandbox/stats`` (API calls per kind and the server's busy seconds per kind:
each request's handling, and ``bulk_processing``, the worker applying Bulk jobs),
``POST /_sandbox/stats/reset``, ``GET|POST /_sandbox/faults``
(``{"spec": "429:0.1,...", "seed": 1, "timeout_s": 5}``), ``POST /_sandbox/bulk/wait``
(blocks until every closed Bulk job is processed), ``GET|POST /_sandbox/clock``
(``{"now": "2026-11-01T10:05:00Z"}``: the clock runs on from there until the server stops; it
never goes back past a stamp it gave), ``POST /_sandbox/deleted/purge``
(``{"before": "..."}``: the delete log forgets older deletions, as Salesforce's purge does;
getDeleted then refuses an earlier start) and
``POST /_sandbox/merge`` (``{"object": "Lead", "master": Id, "duplicates": [Id, ...]}``: a merge,
which Salesforce offers through SOAP and Apex, not REST; see ``records.merge_records``).

Every request is logged as one line on stderr (method, path without query values, status,
milliseconds, kind); the token and record contents are never logged.
"""

from __future__ import annotations

import argparse
import csv
import email.utils
import hmac
import io
import json
import os
import re
import secrets
import signal
import socket
import ssl
import sys
import threading
import time
import traceback
from array import array
from collections import OrderedDict
from dataclasses import dataclass
from datetime import UTC, datetime
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any
from urllib.parse import parse_qs, unquote, urlsplit

from crm_sandbox import bulk as bulk_mod
from crm_sandbox import records, soql
from crm_sandbox import store as st
from crm_sandbox.errors import ApiError, bad_json, not_found
from crm_sandbox.faults import FaultInjector
from crm_sandbox.tls import ensure_certificate, ensure_token
from crm_sandbox.usage import UsageCounter

DEFAULT_BATCH_SIZE = 2000
MIN_BATCH_SIZE = 200
CURSOR_TTL_S = 15 * 60
MAX_CURSORS = 50
QUERY_JOB_PAGE = 50_000  # rows per query-job results page when maxRecords is not given
MAX_BODY_BYTES = 160 * 1024 * 1024
INFO_FILE = "sandbox.json"

_DATA_PATH = re.compile(r"^/services/data/v(\d+\.\d+)(?:/(.*))?$")
_BATCH_SIZE = re.compile(r"batchSize\s*=\s*(\d+)", re.IGNORECASE)


try:  # msgspec (an Airflow dependency) encodes ~10x faster than json, same bytes
    from msgspec.json import encode as _fast_encode
except ImportError:  # pragma: no cover - fallback when msgspec is absent
    _fast_encode = None


def _encode(payload: Any) -> bytes:
    """Compact UTF-8 JSON."""
    if _fast_encode is not None:
        return _fast_encode(payload)
    return json.dumps(payload, separators=(",", ":"), ensure_ascii=False).encode("utf-8")


def _log(line: str) -> None:
    stamp = datetime.now(UTC).strftime("%Y-%m-%dT%H:%M:%S.%f")[:-3] + "Z"
    sys.stderr.write(f"{stamp} {line}\n")
    sys.stderr.flush()


# --------------------------------------------------------------------------------------------
# Query cursors
# --------------------------------------------------------------------------------------------
@dataclass
class Cursor:
    """A query's matched rows (rowids, in result order), fetched page by page."""

    object: str
    fields: list[str]
    rowids: array
    batch_size: int
    last_used: float
    job: dict[str, Any] | None = None  # a Bulk API 2.0 query job's description


class CursorStore:
    """Open query cursors by locator; expire after 15 idle minutes; at most 50 (LRU)."""

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self._cursors: OrderedDict[str, Cursor] = OrderedDict()

    def _expire(self, now: float) -> None:
        for locator in [k for k, c in self._cursors.items() if now - c.last_used > CURSOR_TTL_S]:
            del self._cursors[locator]
        while len(self._cursors) > MAX_CURSORS:
            self._cursors.popitem(last=False)

    def create(self, cursor: Cursor, prefix: str = "01g") -> str:
        """Store a cursor and return its locator (a query job's id: prefix ``750``)."""
        locator = st.id18(prefix + "SB" + secrets.token_hex(5))
        with self._lock:
            self._cursors[locator] = cursor
            self._expire(time.monotonic())
        return locator

    def get(self, locator: str) -> Cursor | None:
        """The cursor (refreshing its idle time), or None if unknown or expired."""
        now = time.monotonic()
        with self._lock:
            self._expire(now)
            cursor = self._cursors.get(locator)
            if cursor is not None:
                cursor.last_used = now
                self._cursors.move_to_end(locator)
            return cursor

    def __len__(self) -> int:
        return len(self._cursors)


# --------------------------------------------------------------------------------------------
# The application state
# --------------------------------------------------------------------------------------------
class SandboxApp:
    """Everything a request handler needs: store, cursors, bulk jobs, faults, usage, token."""

    def __init__(
        self,
        db: Path,
        sandbox_dir: Path,
        faults: str | None = None,
        fault_seed: int | None = None,
        api_limit: int | None = None,
    ) -> None:
        self.db = db
        self.sandbox_dir = sandbox_dir
        self.token = ensure_token(sandbox_dir).read_text().strip()
        self.store = st.Store(db)
        self.faults = FaultInjector(faults, fault_seed)
        self.usage = UsageCounter(self.store, api_limit)
        self.bulk = bulk_mod.BulkManager(self.store, self.faults, self.usage)
        self.cursors = CursorStore()
        self.started_at = datetime.now(UTC)
        self.port = 0
        self._stop = threading.Event()
        self._flusher = threading.Thread(target=self._flush_loop, name="usage-flush", daemon=True)

    def start(self) -> None:
        """Start the background workers (bulk processing, usage flushing)."""
        self.bulk.start()
        self._flusher.start()

    def close(self) -> None:
        """Stop the workers and persist the usage counters."""
        self._stop.set()
        self.bulk.stop()
        self.usage.flush()
        self.store.close()

    def _flush_loop(self) -> None:
        while not self._stop.wait(5.0):
            self.usage.flush()

    def check_token(self, header: str | None) -> bool:
        """Whether an ``Authorization: Bearer <token>`` (or ``OAuth <token>``) header is valid."""
        if not header:
            return False
        scheme, _, token = header.partition(" ")
        if scheme.lower() not in ("bearer", "oauth"):
            return False
        return hmac.compare_digest(token.strip().encode(), self.token.encode())


# --------------------------------------------------------------------------------------------
# Routing
# --------------------------------------------------------------------------------------------
@dataclass(frozen=True)
class Route:
    pattern: re.Pattern[str]
    methods: dict[str, tuple[str, str]]  # method -> (handler method name, usage kind)
    redact_last: bool = False  # the last path segment holds record data (an external id)


def _route(pattern: str, redact_last: bool = False, **methods: tuple[str, str]) -> Route:
    return Route(re.compile(pattern, re.IGNORECASE), methods, redact_last)


ROUTES: list[Route] = [
    _route(r"^$", GET=("h_resources", "resources")),
    _route(r"^limits/?$", GET=("h_limits", "limits")),
    _route(r"^(query|queryAll)/?$", GET=("h_query", "query")),
    _route(r"^(query|queryAll)/([A-Za-z0-9]+)-(\d+)/?$", GET=("h_query_more", "query_more")),
    _route(r"^sobjects/?$", GET=("h_describe_global", "describe")),
    _route(r"^sobjects/(\w+)/describe/?$", GET=("h_describe", "describe")),
    _route(r"^sobjects/(\w+)/deleted/?$", GET=("h_deleted", "get_deleted")),
    _route(r"^sobjects/(\w+)/?$", GET=("h_sobject_info", "describe"), POST=("h_create", "sobject")),
    _route(
        r"^sobjects/(\w+)/([^/]+)/?$",
        GET=("h_get", "sobject"),
        PATCH=("h_update", "sobject"),
        DELETE=("h_delete", "sobject"),
    ),
    _route(
        r"^sobjects/(\w+)/(\w+)/([^/]+)/?$",
        redact_last=True,
        GET=("h_get_ext", "sobject"),
        PATCH=("h_upsert", "sobject"),
    ),
    _route(
        r"^composite/sobjects/?$",
        POST=("h_coll_create", "collections"),
        PATCH=("h_coll_update", "collections"),
        DELETE=("h_coll_delete", "collections"),
    ),
    _route(r"^composite/sobjects/(\w+)/?$", GET=("h_coll_retrieve", "collections")),
    _route(r"^composite/sobjects/(\w+)/(\w+)/?$", PATCH=("h_coll_upsert", "collections")),
    _route(r"^jobs/ingest/?$", POST=("h_job_create", "bulk_create"), GET=("h_job_list", "bulk_list")),
    _route(
        r"^jobs/ingest/([A-Za-z0-9]+)/?$",
        GET=("h_job_get", "bulk_status"),
        PATCH=("h_job_state", "bulk_state"),
        DELETE=("h_job_delete", "bulk_delete"),
    ),
    _route(r"^jobs/ingest/([A-Za-z0-9]+)/batches/?$", PUT=("h_job_upload", "bulk_upload")),
    _route(
        r"^jobs/ingest/([A-Za-z0-9]+)/(successfulResults|failedResults|unprocessedrecords)/?$",
        GET=("h_job_results", "bulk_results"),
    ),
    _route(r"^jobs/query/?$", POST=("h_query_job_create", "bulk_query_create")),
    _route(r"^jobs/query/([A-Za-z0-9]+)/?$", GET=("h_query_job_get", "bulk_query_status")),
    _route(r"^jobs/query/([A-Za-z0-9]+)/results/?$", GET=("h_query_job_results", "bulk_query_results")),
]


class RequestHandler(BaseHTTPRequestHandler):
    """One HTTP/1.1 connection (keep-alive); dispatches each request to an ``h_*`` method."""

    protocol_version = "HTTP/1.1"
    server_version = "leadscore-crm-sandbox"
    sys_version = ""
    timeout = 120  # idle keep-alive connections are closed after this many seconds
    disable_nagle_algorithm = True  # headers and body go out at once (no 40 ms delayed ACK)

    server: SandboxServer
    version: str
    params: dict[str, list[str]]
    body: bytes

    # -- plumbing ------------------------------------------------------------------------
    @property
    def app(self) -> SandboxApp:
        return self.server.app

    def date_time_string(self, timestamp: float | None = None) -> str:
        """The ``Date`` header: the sandbox clock (``st.CLOCK``), Salesforce's server time."""
        if timestamp is None:
            timestamp = st.CLOCK.current_ms() / 1000
        return email.utils.formatdate(timestamp, usegmt=True)

    def log_request(self, code: Any = "-", size: Any = "-") -> None:  # noqa: ARG002
        """Silenced: one line per request is written by :meth:`_dispatch` instead."""

    def log_error(self, format: str, *args: Any) -> None:  # noqa: A002, ARG002
        # Only the status code: the message can quote the request line (query values).
        code = args[0] if args and isinstance(args[0], int) else "-"
        _log(f"http-error {code}")

    def do_GET(self) -> None:  # noqa: N802
        self._dispatch()

    def do_POST(self) -> None:  # noqa: N802
        self._dispatch()

    def do_PATCH(self) -> None:  # noqa: N802
        self._dispatch()

    def do_PUT(self) -> None:  # noqa: N802
        self._dispatch()

    def do_DELETE(self) -> None:  # noqa: N802
        self._dispatch()

    def _read_body(self) -> bytes:
        if self.headers.get("Transfer-Encoding", "").lower() == "chunked":
            chunks = []
            total = 0
            while True:
                size_line = self.rfile.readline(1024)
                size = int(size_line.split(b";")[0].strip() or b"0", 16)
                if size == 0:
                    while self.rfile.readline(1024) not in (b"\r\n", b"\n", b""):
                        pass
                    break
                total += size
                if total > MAX_BODY_BYTES:
                    raise ApiError(413, "REQUEST_TOO_LARGE", "The request body is too large")
                chunks.append(self.rfile.read(size))
                self.rfile.readline(1024)
            return b"".join(chunks)
        length = int(self.headers.get("Content-Length") or 0)
        if length > MAX_BODY_BYTES:
            self.close_connection = True
            raise ApiError(413, "REQUEST_TOO_LARGE", "The request body is too large")
        return self.rfile.read(length) if length > 0 else b""

    def _send(
        self, status: int, body: bytes, content_type: str, headers: dict[str, str] | None = None
    ) -> None:
        self.send_response(status)
        for key, value in (headers or {}).items():
            self.send_header(key, value)
        if status != 204:
            self.send_header("Content-Type", content_type)
            self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        if status != 204 and body:
            self.wfile.write(body)

    def _json(self, status: int, payload: Any, headers: dict[str, str] | None = None) -> None:
        self._send(status, _encode(payload), "application/json;charset=UTF-8", headers)

    def _json_body(self) -> Any:
        if not self.body:
            raise bad_json("The request body is empty; a JSON body is required")
        try:
            return json.loads(self.body.decode("utf-8"))
        except json.JSONDecodeError as exc:
            raise bad_json(f"The request body is not valid JSON: {exc.msg}") from None
        except UnicodeDecodeError:
            raise bad_json("The request body is not valid UTF-8") from None

    def _param(self, name: str) -> str | None:
        values = self.params.get(name)
        return values[0] if values else None

    # -- dispatch ------------------------------------------------------------------------
    def _dispatch(self) -> None:
        started = time.perf_counter()
        split = urlsplit(self.path)
        path = split.path
        # the sandbox's own endpoints (stats, health) are not the CRM's work
        busy_since = None if path.startswith("/_sandbox/") else self.app.usage.start_busy()
        self.params = parse_qs(split.query, keep_blank_values=True)
        log_path = path
        status = 500
        kind = "-"
        extra: dict[str, str] = {}
        try:
            try:
                self.body = self._read_body()
            except ValueError:
                self.close_connection = True
                raise ApiError(400, "INVALID_REQUEST", "Malformed request body framing") from None
            if path.startswith("/_sandbox/"):
                kind = "sandbox"
                status = self._dispatch_sandbox(path)
                return
            if path.rstrip("/") == "/services/data":
                status = 200
                self._json(200, [{"label": "Winter '24", "url": "/services/data/v59.0", "version": "59.0"}])
                return
            match = _DATA_PATH.match(path)
            if not match:
                raise not_found()
            if not self.app.check_token(self.headers.get("Authorization")):
                raise ApiError(401, "INVALID_SESSION_ID", "Session expired or invalid")
            self.version = match.group(1)
            rest = match.group(2) or ""
            route, route_match, handler_name, kind = self._resolve(rest)
            if route.redact_last:  # an external id value (e.g. an email) is record data
                log_path = path.rstrip("/").rsplit("/", 1)[0] + "/<value>"
            used = self.app.usage.record(kind)
            extra["Sforce-Limit-Info"] = f"api-usage={used}/{self.app.usage.limit}"
            if used > self.app.usage.limit:
                raise ApiError(403, "REQUEST_LIMIT_EXCEEDED", "TotalRequests Limit exceeded.")
            self._inject_fault()
            self._extra_headers = extra
            status = getattr(self, handler_name)(route_match) or 200
        except ApiError as err:
            status = err.status
            headers = {**extra, **err.headers}
            try:
                self._json(err.status, err.body(), headers)
            except OSError:
                self.close_connection = True
        except (BrokenPipeError, ConnectionResetError, ssl.SSLError, TimeoutError):
            self.close_connection = True
            status = 499
        except Exception as exc:  # noqa: BLE001 - answer like Salesforce, never a stack trace
            status = 500
            error_id = secrets.token_hex(6)
            frames = "".join(traceback.format_tb(exc.__traceback__)).replace("\n", " | ")
            _log(f"error {error_id} {type(exc).__name__} in {frames[-1500:]}")
            try:
                self._json(
                    500,
                    [
                        {
                            "errorCode": "UNKNOWN_EXCEPTION",
                            "message": "An unexpected error occurred. Please include this ErrorId if "
                            f"you contact support: {error_id}",
                        }
                    ],
                    extra,
                )
            except OSError:
                self.close_connection = True
        finally:
            elapsed = (time.perf_counter() - started) * 1000
            if busy_since is not None:
                self.app.usage.end_busy(kind, busy_since)
            names = ",".join(sorted(self.params))
            shown = log_path + (f"?{names}" if names else "")
            if kind != "sandbox" or path != "/_sandbox/health":
                _log(f"{self.command} {shown} {status} {elapsed:.1f}ms {kind}")

    def _resolve(self, rest: str) -> tuple[Route, re.Match[str], str, str]:
        for route in ROUTES:
            match = route.pattern.match(rest)
            if match is None:
                continue
            if self.command not in route.methods:
                allowed = ",".join(sorted(route.methods))
                raise ApiError(
                    405,
                    "METHOD_NOT_ALLOWED",
                    f"HTTP Method '{self.command}' not allowed. Allowed are {allowed}",
                )
            name, kind = route.methods[self.command]
            return route, match, name, kind
        raise not_found()

    def _inject_fault(self) -> None:
        fault = self.app.faults.draw_request()
        if fault is None:
            return
        if fault == "timeout":
            time.sleep(self.app.faults.timeout_s + 1.0)
            return  # then answer normally: the request is processed, the client gave up
        if fault == "429":
            raise ApiError(
                429,
                "REQUEST_LIMIT_EXCEEDED",
                "Too many requests (injected by the leadscore CRM sandbox); retry later",
                headers={"Retry-After": "1"},
            )
        raise ApiError(
            int(fault),
            "SERVER_ERROR",
            f"Server error {fault} (injected by the leadscore CRM sandbox); retry later",
        )

    # -- /_sandbox -----------------------------------------------------------------------
    def _dispatch_sandbox(self, path: str) -> int:
        app = self.app
        path = path.rstrip("/")
        if path == "/_sandbox/health" and self.command == "GET":
            self._json(
                200,
                {
                    "status": "ok",
                    "pid": os.getpid(),
                    "port": app.port,
                    "db": str(app.db),
                    "started_at": app.started_at.isoformat(),
                    "cursors": len(app.cursors),
                },
            )
            return 200
        if not app.check_token(self.headers.get("Authorization")):
            raise ApiError(401, "INVALID_SESSION_ID", "Session expired or invalid")
        if path == "/_sandbox/stats" and self.command == "GET":
            snapshot = app.usage.snapshot()
            snapshot["faults"] = app.faults.describe()["injected"]
            self._json(200, snapshot)
            return 200
        if path == "/_sandbox/stats/reset" and self.command == "POST":
            app.usage.reset_stats()
            self._json(200, app.usage.snapshot())
            return 200
        if path == "/_sandbox/faults" and self.command == "GET":
            self._json(200, app.faults.describe())
            return 200
        if path == "/_sandbox/faults" and self.command == "POST":
            body = self._json_body() if self.body else {}
            if not isinstance(body, dict):
                raise bad_json('Expected {"spec": "429:0.1,...", "seed": 1}')
            seed = body.get("seed")
            timeout_s = body.get("timeout_s")
            try:
                app.faults.configure(body.get("spec") or "", seed, timeout_s)
            except (ValueError, TypeError) as exc:
                raise ApiError(400, "INVALID_FAULT_SPEC", str(exc)) from None
            self._json(200, app.faults.describe())
            return 200
        if path == "/_sandbox/bulk/wait" and self.command == "POST":
            idle = app.bulk.wait_idle(float(self._param("timeout") or 30))
            self._json(200, {"idle": idle})
            return 200
        if path == "/_sandbox/clock":
            return self._sandbox_clock()
        if path == "/_sandbox/deleted/purge" and self.command == "POST":
            before = self._sandbox_instant("before")
            with app.store.write() as conn:
                removed = st.purge_delete_log(conn, before)
            self._json(200, {"purged_before": before, "entries_removed": removed})
            return 200
        if path == "/_sandbox/merge" and self.command == "POST":
            body = self._json_body()
            if not isinstance(body, dict):
                raise bad_json('Expected {"object": "Lead", "master": Id, "duplicates": [Id, ...]}')
            obj = records.resolve_object(str(body.get("object", "")))
            self._json(200, records.merge_records(app.store, obj, body.get("master"), body.get("duplicates")))
            return 200
        raise not_found()

    def _sandbox_instant(self, key: str) -> str:
        """``key`` of the JSON body: an ISO 8601 instant, in the stored format."""
        body = self._json_body()
        value = body.get(key) if isinstance(body, dict) else None
        try:
            if isinstance(value, str):
                return st.parse_datetime(value)
        except ValueError:
            pass
        raise ApiError(400, "INVALID_REQUEST", f'expected {{"{key}": "<ISO 8601 instant>"}}')

    def _sandbox_clock(self) -> int:
        """``GET``: the clock; ``POST {"now": ...}``: run it from there (409 if that is before
        a stamp already given)."""
        if self.command == "POST":
            moment = datetime.strptime(self._sandbox_instant("now"), "%Y-%m-%dT%H:%M:%S.%f%z")
            try:
                st.CLOCK.set_now(moment)
            except ValueError as exc:
                raise ApiError(409, "INVALID_REQUEST", str(exc)) from None
        elif self.command != "GET":
            raise ApiError(405, "METHOD_NOT_ALLOWED", "use GET or POST")
        self._json(200, {"now": st.format_datetime(st.CLOCK.now()), "offset_ms": st.CLOCK.offset_ms})
        return 200

    # -- REST handlers -------------------------------------------------------------------
    def h_resources(self, _m: re.Match[str]) -> int:
        base = f"/services/data/v{self.version}"
        self._json(
            200,
            {
                name: f"{base}/{name}"
                for name in ("sobjects", "query", "queryAll", "limits", "composite", "jobs")
            },
            self._extra_headers,
        )
        return 200

    def h_limits(self, _m: re.Match[str]) -> int:
        usage = self.app.usage
        used = usage.used()
        self._json(
            200,
            {
                "DailyApiRequests": {"Max": usage.limit, "Remaining": max(usage.limit - used, 0)},
                "DailyBulkV2QueryJobs": {"Max": 10000, "Remaining": 10000},
                "DailyBulkApiBatches": {"Max": 15000, "Remaining": 15000},
            },
            self._extra_headers,
        )
        return 200

    def _batch_size(self) -> int:
        header = self.headers.get("Sforce-Query-Options") or ""
        match = _BATCH_SIZE.search(header)
        if not match:
            return DEFAULT_BATCH_SIZE
        return max(MIN_BATCH_SIZE, min(DEFAULT_BATCH_SIZE, int(match.group(1))))

    def _page(self, cursor: Cursor, rowids: Any, start: int, batch: int) -> list[dict[str, Any]]:
        page = rowids[start : start + batch]
        with self.app.store.read() as conn:
            rows = st.fetch_by_rowids(conn, cursor.object, cursor.fields, list(page))
        prefix = f"/services/data/v{self.version}/sobjects/{cursor.object}/"
        obj = cursor.object
        fields = cursor.fields
        out = []
        for rid, values in rows:
            rec: dict[str, Any] = {"attributes": {"type": obj, "url": prefix + rid}}
            rec.update(zip(fields, values, strict=True))
            out.append(rec)
        return out

    @staticmethod
    def _parse(text: str) -> soql.Query:
        try:
            return soql.parse_soql(text)
        except soql.SoqlError as err:
            raise ApiError(400, err.error_code, err.message) from None

    def _matched(self, query: soql.Query, include_deleted: bool) -> array:
        """The rowids the query matches, in result order (a consistent snapshot)."""
        sql, params = soql.compile_rowids(query, include_deleted)
        with self.app.store.read() as conn:
            return array("q", (r[0] for r in conn.execute(sql, params)))

    def h_query(self, m: re.Match[str]) -> int:
        include_deleted = m.group(1).lower() == "queryall"
        text = self._param("q")
        if text is None:
            raise ApiError(400, "MALFORMED_QUERY", "A query string has to be specified")
        query = self._parse(text)
        if query.aggregate:
            return self._aggregate_query(query, include_deleted)
        if query.count:
            sql, params = soql.compile_count(query, include_deleted)
            with self.app.store.read() as conn:
                total = conn.execute(sql, params).fetchone()[0]
            self._json(200, {"totalSize": total, "done": True, "records": []}, self._extra_headers)
            return 200
        rowids = self._matched(query, include_deleted)
        batch = self._batch_size()
        cursor = Cursor(query.object, query.fields, rowids, batch, time.monotonic())
        records_page = self._page(cursor, rowids, 0, batch)
        payload: dict[str, Any] = {"totalSize": len(rowids), "done": len(rowids) <= batch}
        if len(rowids) > batch:
            locator = self.app.cursors.create(cursor)
            endpoint = "queryAll" if include_deleted else "query"
            payload["nextRecordsUrl"] = f"/services/data/v{self.version}/{endpoint}/{locator}-{batch}"
        payload["records"] = records_page
        self._json(200, payload, self._extra_headers)
        return 200

    def _aggregate_query(self, query: soql.Query, include_deleted: bool) -> int:
        """An aggregate query: every group at once, as AggregateResult records (no paging)."""
        sql, params = soql.compile_aggregate(query, include_deleted)
        with self.app.store.read() as conn:
            rows = conn.execute(sql, params).fetchall()
        found = soql.aggregate_records(query, rows)
        self._json(200, {"totalSize": len(found), "done": True, "records": found}, self._extra_headers)
        return 200

    def h_query_more(self, m: re.Match[str]) -> int:
        endpoint, locator, offset_text = m.group(1), m.group(2), m.group(3)
        cursor = self.app.cursors.get(locator)
        if cursor is None:
            raise ApiError(
                400,
                "INVALID_QUERY_LOCATOR",
                "invalid query locator (unknown, or expired after 15 minutes)",
            )
        offset = int(offset_text)
        total = len(cursor.rowids)
        if offset > total:
            raise ApiError(400, "INVALID_QUERY_LOCATOR", f"offset {offset} is past the end ({total})")
        if self.headers.get("Sforce-Query-Options"):
            batch = self._batch_size()
        else:
            batch = cursor.batch_size
        records_page = self._page(cursor, cursor.rowids, offset, batch)
        end = offset + batch
        payload: dict[str, Any] = {"totalSize": total, "done": end >= total}
        if end < total:
            payload["nextRecordsUrl"] = f"/services/data/v{self.version}/{endpoint}/{locator}-{end}"
        payload["records"] = records_page
        self._json(200, payload, self._extra_headers)
        return 200

    def h_describe_global(self, _m: re.Match[str]) -> int:
        self._json(200, records.describe_global(self.version), self._extra_headers)
        return 200

    def h_deleted(self, m: re.Match[str]) -> int:
        obj = records.resolve_object(m.group(1))
        result = records.get_deleted(self.app.store, obj, self._param("start"), self._param("end"))
        self._json(200, result, self._extra_headers)
        return 200

    def h_describe(self, m: re.Match[str]) -> int:
        obj = records.resolve_object(m.group(1))
        self._json(200, records.describe_sobject(obj, self.version), self._extra_headers)
        return 200

    def h_sobject_info(self, m: re.Match[str]) -> int:
        obj = records.resolve_object(m.group(1))
        self._json(200, records.sobject_info(obj, self.version), self._extra_headers)
        return 200

    def h_create(self, m: re.Match[str]) -> int:
        obj = records.resolve_object(m.group(1))
        result = records.create_record(self.app.store, obj, self._json_body())
        self._json(201, result, self._extra_headers)
        return 201

    def h_get(self, m: re.Match[str]) -> int:
        obj = records.resolve_object(m.group(1))
        record_id = unquote(m.group(2))
        result = records.get_record(self.app.store, obj, record_id, self._param("fields"), self.version)
        self._json(200, result, self._extra_headers)
        return 200

    def h_update(self, m: re.Match[str]) -> int:
        obj = records.resolve_object(m.group(1))
        records.update_record(self.app.store, obj, unquote(m.group(2)), self._json_body())
        self._send(204, b"", "", self._extra_headers)
        return 204

    def h_delete(self, m: re.Match[str]) -> int:
        obj = records.resolve_object(m.group(1))
        records.delete_record(self.app.store, obj, unquote(m.group(2)))
        self._send(204, b"", "", self._extra_headers)
        return 204

    def h_get_ext(self, m: re.Match[str]) -> int:
        obj = records.resolve_object(m.group(1))
        result = records.get_by_external_id(
            self.app.store,
            obj,
            m.group(2),
            unquote(m.group(3)),
            self._param("fields"),
            self.version,
        )
        self._json(200, result, self._extra_headers)
        return 200

    def h_upsert(self, m: re.Match[str]) -> int:
        obj = records.resolve_object(m.group(1))
        result, created = records.upsert_record(
            self.app.store, obj, m.group(2), unquote(m.group(3)), self._json_body()
        )
        status = 201 if created else 200
        self._json(status, result, self._extra_headers)
        return status

    def h_coll_create(self, _m: re.Match[str]) -> int:
        result = records.collection_create(self.app.store, self.app.faults, self._json_body())
        self._json(200, result, self._extra_headers)
        return 200

    def h_coll_update(self, _m: re.Match[str]) -> int:
        result = records.collection_update(self.app.store, self.app.faults, self._json_body())
        self._json(200, result, self._extra_headers)
        return 200

    def h_coll_upsert(self, m: re.Match[str]) -> int:
        obj = records.resolve_object(m.group(1))
        result = records.collection_upsert(
            self.app.store, self.app.faults, obj, m.group(2), self._json_body()
        )
        self._json(200, result, self._extra_headers)
        return 200

    def h_coll_delete(self, _m: re.Match[str]) -> int:
        ids = [i for i in (self._param("ids") or "").split(",") if i]
        if not ids:
            raise ApiError(400, "MISSING_ARGUMENT", "ids is required: ?ids=<id>,<id>,...")
        all_or_none = (self._param("allOrNone") or "false").lower() == "true"
        result = records.collection_delete(self.app.store, self.app.faults, ids, all_or_none)
        self._json(200, result, self._extra_headers)
        return 200

    def h_coll_retrieve(self, m: re.Match[str]) -> int:
        obj = records.resolve_object(m.group(1))
        ids = [i for i in (self._param("ids") or "").split(",") if i]
        if not ids:
            raise ApiError(400, "MISSING_ARGUMENT", "ids is required: ?ids=<id>,<id>,...")
        result = records.collection_retrieve(self.app.store, obj, ids, self._param("fields"), self.version)
        self._json(200, result, self._extra_headers)
        return 200

    def h_job_create(self, _m: re.Match[str]) -> int:
        result = self.app.bulk.create_job(self._json_body(), self.version)
        self._json(200, result, self._extra_headers)
        return 200

    def h_job_list(self, _m: re.Match[str]) -> int:
        result = self.app.bulk.list_jobs(self._param("queryLocator"), self.version)
        self._json(200, result, self._extra_headers)
        return 200

    def h_job_get(self, m: re.Match[str]) -> int:
        self._json(200, self.app.bulk.get_job(m.group(1), self.version), self._extra_headers)
        return 200

    def h_job_state(self, m: re.Match[str]) -> int:
        result = self.app.bulk.set_state(m.group(1), self._json_body(), self.version)
        self._json(200, result, self._extra_headers)
        return 200

    def h_job_delete(self, m: re.Match[str]) -> int:
        self.app.bulk.delete_job(m.group(1))
        self._send(204, b"", "", self._extra_headers)
        return 204

    def h_job_upload(self, m: re.Match[str]) -> int:
        self.app.bulk.upload(m.group(1), self.body)
        self._send(201, b"", "text/plain", self._extra_headers)
        return 201

    def h_job_results(self, m: re.Match[str]) -> int:
        text = self.app.bulk.results(m.group(1), m.group(2))
        self._send(200, text.encode("utf-8"), "text/csv;charset=UTF-8", self._extra_headers)
        return 200

    def h_query_job_create(self, _m: re.Match[str]) -> int:
        """Bulk API 2.0 query job: ``{"operation": "query"|"queryAll", "query": SOQL}``. The
        rows are matched at once (a consistent snapshot, like a REST query's cursor); the
        job reports ``UploadComplete`` and is ``JobComplete`` when first looked at."""
        body = self._json_body()
        if not isinstance(body, dict) or not isinstance(body.get("query"), str):
            raise ApiError(400, "INVALIDJOB", "a query job needs a JSON body with 'query' (SOQL)")
        operation = body.get("operation", "query")
        if operation not in {"query", "queryAll"}:
            raise ApiError(400, "INVALIDJOB", f"operation must be query or queryAll, got {operation!r}")
        query = self._parse(body["query"])
        if query.count or query.aggregate:
            raise ApiError(
                400,
                "INVALIDJOB",
                "COUNT() and aggregate queries are not supported by Bulk API 2.0 query jobs",
            )
        rowids = self._matched(query, operation == "queryAll")
        now = datetime.now(UTC).strftime("%Y-%m-%dT%H:%M:%S.000+0000")
        job = {
            "operation": operation,
            "object": query.object,
            "createdById": bulk_mod.SANDBOX_USER_ID,
            "createdDate": now,
            "systemModstamp": now,
            "concurrencyMode": "Parallel",
            "contentType": "CSV",
            "apiVersion": float(self.version),
            "lineEnding": "LF",
            "columnDelimiter": "COMMA",
        }
        cursor = Cursor(query.object, query.fields, rowids, QUERY_JOB_PAGE, time.monotonic(), job)
        job_id = self.app.cursors.create(cursor, prefix="750")
        self._json(200, {"id": job_id, **job, "state": "UploadComplete"}, self._extra_headers)
        return 200

    def _query_job(self, job_id: str) -> Cursor:
        cursor = self.app.cursors.get(job_id)
        if cursor is None or cursor.job is None:
            raise ApiError(404, "NOT_FOUND", f"query job {job_id} not found (unknown, or expired)")
        return cursor

    def h_query_job_get(self, m: re.Match[str]) -> int:
        cursor = self._query_job(m.group(1))
        info = {
            "id": m.group(1),
            **cursor.job,
            "state": "JobComplete",
            "numberRecordsProcessed": len(cursor.rowids),
            "retries": 0,
            "totalProcessingTime": 0,
        }
        self._json(200, info, self._extra_headers)
        return 200

    def h_query_job_results(self, m: re.Match[str]) -> int:
        """One page of a query job's rows as CSV (header first; every value quoted, null as an
        empty field): ``maxRecords`` rows from ``locator`` (an offset) on, the next locator
        in ``Sforce-Locator`` (``null`` after the last page)."""
        cursor = self._query_job(m.group(1))
        locator = self._param("locator") or "0"
        if not locator.isdigit():
            raise ApiError(400, "INVALID_LOCATOR", f"invalid locator {locator!r}")
        offset = int(locator)
        size_text = self._param("maxRecords") or ""
        size = int(size_text) if size_text.isdigit() and int(size_text) > 0 else cursor.batch_size
        with self.app.store.read() as conn:
            rows = st.fetch_by_rowids(
                conn, cursor.object, cursor.fields, list(cursor.rowids[offset : offset + size])
            )
        out = io.StringIO()
        writer = csv.writer(out, quoting=csv.QUOTE_ALL, lineterminator="\n")
        writer.writerow(cursor.fields)
        writer.writerows([records.csv_cell(v) for v in values] for _rid, values in rows)
        end = offset + size
        headers = {
            **self._extra_headers,
            "Sforce-Locator": str(end) if end < len(cursor.rowids) else "null",
            "Sforce-NumberOfRecords": str(len(rows)),
        }
        self._send(200, out.getvalue().encode("utf-8"), "text/csv;charset=UTF-8", headers)
        return 200


# --------------------------------------------------------------------------------------------
# The server
# --------------------------------------------------------------------------------------------
class SandboxServer(ThreadingHTTPServer):
    """A threading HTTP server doing the TLS handshake in each connection's own thread."""

    daemon_threads = True
    allow_reuse_address = True
    request_queue_size = 64

    def __init__(self, address: tuple[str, int], app: SandboxApp, context: ssl.SSLContext | None):
        self.app = app
        self.ssl_context = context
        super().__init__(address, RequestHandler)

    def finish_request(self, request: Any, client_address: Any) -> None:
        if self.ssl_context is None:
            super().finish_request(request, client_address)
            return
        try:
            request.settimeout(30)
            tls = self.ssl_context.wrap_socket(request, server_side=True)
        except (ssl.SSLError, OSError):
            return  # not TLS, or the client went away during the handshake
        try:
            self.RequestHandlerClass(tls, client_address, self)
        finally:
            try:
                tls.close()
            except OSError:
                pass

    def handle_error(self, request: Any, client_address: Any) -> None:  # noqa: ARG002
        exc = sys.exc_info()[1]
        if isinstance(exc, (ConnectionError, ssl.SSLError, TimeoutError, socket.timeout)):
            return
        _log(f"connection-error {type(exc).__name__}")


def _write_info(sandbox_dir: Path, info: dict[str, Any]) -> None:
    path = sandbox_dir / INFO_FILE
    tmp = path.with_name(f"{INFO_FILE}.tmp{os.getpid()}")
    tmp.write_text(json.dumps(info, indent=2) + "\n")
    os.replace(tmp, path)


def _remove_info_if_ours(sandbox_dir: Path) -> None:
    path = sandbox_dir / INFO_FILE
    try:
        if json.loads(path.read_text()).get("pid") == os.getpid():
            path.unlink()
    except (OSError, ValueError):
        pass


def build_parser() -> argparse.ArgumentParser:
    """The command-line arguments of ``python -m crm_sandbox.server``."""
    parser = argparse.ArgumentParser(
        prog="python -m crm_sandbox.server",
        description="Run the leadscore CRM sandbox (Salesforce REST subset over HTTPS).",
    )
    parser.add_argument(
        "--sandbox-dir",
        type=Path,
        default=None,
        help="folder for the token, certificate, log and sandbox.json (default: LEADSCORE_SANDBOX_DIR)",
    )
    parser.add_argument(
        "--db", type=Path, default=None, help="SQLite database (default: <sandbox-dir>/crm.sqlite)"
    )
    parser.add_argument("--port", type=int, default=8443, help="0 picks a free port")
    parser.add_argument("--host", default="127.0.0.1")
    parser.add_argument(
        "--faults",
        default=None,
        help='e.g. "429:0.1,500:0.05,timeout:0.02,row_error:0.01" (default: LEADSCORE_SANDBOX_FAULTS)',
    )
    parser.add_argument("--fault-seed", type=int, default=None)
    parser.add_argument(
        "--no-tls",
        action="store_true",
        help="serve plain HTTP (simple-salesforce needs HTTPS; for debugging)",
    )
    return parser


def main(argv: list[str] | None = None) -> int:
    """Run the server in the foreground until SIGTERM/SIGINT. Returns the exit code."""
    args = build_parser().parse_args(argv)
    sandbox_dir = args.sandbox_dir or os.environ.get("LEADSCORE_SANDBOX_DIR")
    if not sandbox_dir:
        _log("cannot start: pass --sandbox-dir DIR or set LEADSCORE_SANDBOX_DIR")
        return 2
    sandbox_dir = Path(sandbox_dir).resolve()
    sandbox_dir.mkdir(parents=True, exist_ok=True)
    db = Path(args.db).resolve() if args.db else sandbox_dir / "crm.sqlite"
    faults = args.faults if args.faults is not None else os.environ.get("LEADSCORE_SANDBOX_FAULTS")
    try:
        app = SandboxApp(db, sandbox_dir, faults, args.fault_seed)
    except ValueError as exc:
        _log(f"cannot start: {exc}")
        return 2
    context = None
    if not args.no_tls:
        cert, key = ensure_certificate(sandbox_dir)
        context = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
        context.minimum_version = ssl.TLSVersion.TLSv1_2
        context.load_cert_chain(cert, key)
    try:
        server = SandboxServer((args.host, args.port), app, context)
    except OSError as exc:
        _log(f"cannot listen on {args.host}:{args.port}: {exc}")
        app.close()
        return 2
    app.port = server.server_address[1]
    app.start()
    scheme = "http" if args.no_tls else "https"
    info = {
        "pid": os.getpid(),
        "port": app.port,
        "url": f"{scheme}://localhost:{app.port}",
        "cert": str(sandbox_dir / "cert.pem"),
        "token_file": str(sandbox_dir / "token"),
        "db": str(db),
    }
    _write_info(sandbox_dir, info)

    def _shutdown(signum: int, _frame: Any) -> None:
        _log(f"signal {signum}: shutting down")
        threading.Thread(target=server.shutdown, daemon=True).start()

    signal.signal(signal.SIGTERM, _shutdown)
    signal.signal(signal.SIGINT, _shutdown)
    _log(
        f"leadscore CRM sandbox listening on {info['url']} (pid {os.getpid()}, db {db}, "
        f"faults {app.faults.describe()['spec'] or 'none'})"
    )
    try:
        server.serve_forever(poll_interval=0.2)
    finally:
        server.server_close()
        app.close()
        _remove_info_if_ours(sandbox_dir)
        _log("stopped")
    return 0


if __name__ == "__main__":
    sys.exit(main())
