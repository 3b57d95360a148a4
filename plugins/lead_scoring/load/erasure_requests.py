"""Erasure request files dropped in ``<landing>/erasure/``, loaded like any landing file.

Each file is a batch in ``ops.batches`` (source ``erasure``, object ``ops.erasure_requests``),
read line by line (``privacy.erasure.request_lines``): every address is recorded as a
request (its SHA-256 only), and a line that is not one is quarantined with the file, its
line number and the reason; its value is kept only as ``sha256:<hex>`` of the trimmed,
lower-cased text, never in clear. A bad line never stops the run: the good lines apply now.

A file whose lines were all recorded is deleted (it holds addresses). A file with a bad line
stays until it is fixed: the same bytes are never read twice (no second quarantine row), and
a corrected file is new content, a new batch. A file that is not ``.csv``, has a header
without an ``email`` column, or that ``landing.open_file`` refuses (a symbolic link) is
rejected with the reason; its lines are quarantined hashed too.
"""

from __future__ import annotations

import logging
from datetime import datetime
from pathlib import Path

import duckdb

from lead_scoring import landing
from lead_scoring.load.files import QuarantinedLines, previous_batch, refused_batch, reject_file
from lead_scoring.load.raw import Batch, LoadResult, record_batch
from lead_scoring.privacy import erasure

log = logging.getLogger(__name__)

REQUESTS = "ops.erasure_requests"
HASHES_PER_INSERT = 10_000


def hashed_record(head: bytes) -> str:
    """How a quarantined line of a request file is stored: the SHA-256 of its value."""
    return f"sha256:{erasure.email_sha256(head.decode('utf-8', errors='replace'))}"


def load_request_files(
    con: duckdb.DuckDBPyConnection, folder: Path, root: Path, run_id: str, now: datetime
) -> list[LoadResult]:
    """Load every entry of the erasure landing ``folder`` (below ``root``), one batch each."""
    return [load_request_file(con, path, root, run_id, now) for path in landing.entries(folder)]


def load_request_file(
    con: duckdb.DuckDBPyConnection, path: Path, root: Path, run_id: str, now: datetime
) -> LoadResult:
    """Record the requests of one erasure file (see the module docstring)."""
    try:
        with landing.open_file(path, root) as opened:
            digest = opened.sha256()
            batch_id = f"erasure:{path.name}:{digest[:16]}"
            batch = Batch(batch_id, "erasure", REQUESTS, str(path), run_id, content_hash=digest)
            previous = previous_batch(con, batch)
            if previous is not None:
                _delete_if_recorded(con, batch, path)
                return previous
            if path.suffix.lower() != ".csv":
                reason = (
                    f"not a CSV file ({path.suffix or 'no extension'}): erasure requests are "
                    "landing/erasure/*.csv with an 'email' column, or one address per line"
                )
                return reject_file(con, batch, reason, opened, record=hashed_record)
            try:
                result = _record(con, opened, batch, now)
            except erasure.ErasureRequestError as error:
                return reject_file(con, batch, str(error), opened, header=True, record=hashed_record)
    except landing.RefusedFile as refused:
        batch = refused_batch("erasure", "erasure", REQUESTS, refused, root, run_id)
        return reject_file(con, batch, refused.reason)
    _delete_if_recorded(con, batch, path)
    return result


def _record(
    con: duckdb.DuckDBPyConnection, opened: landing.LandingFile, batch: Batch, now: datetime
) -> LoadResult:
    """Record the file's requests and quarantine its bad lines, in one transaction."""
    source = f"file:{opened.path.name}"
    bad = QuarantinedLines()
    read, pending = 0, []
    con.execute("begin transaction")
    try:
        with opened.reader() as handle:
            lines = landing.non_blank_lines(handle, erasure.MAX_LINE_BYTES)
            for request in erasure.request_lines(lines):
                read += 1
                if request.problem:
                    bad.add(request.number, f"sha256:{request.value_sha256}", request.problem)
                    continue
                pending.append(request.email_sha256)
                if len(pending) >= HASHES_PER_INSERT:
                    erasure.record_requests(con, pending, source, now)
                    pending.clear()
        erasure.record_requests(con, pending, source, now)
        bad.write(con, batch, now)
        record_batch(con, batch, read, read - bad.count, bad.count, "loaded", now)
        con.execute("commit")
    except Exception:
        con.execute("rollback")
        raise
    if bad.count:
        log.warning(
            "erasure file %s: %d of %d lines are not e-mail addresses (quarantined, values hashed); the "
            "others are recorded. Fix those lines (see ops.quarantine) and drop the file again",
            batch.file, bad.count, read,
        )  # fmt: skip
    return LoadResult(batch.batch_id, batch.object, read, read - bad.count, bad.count, skipped=False)


def _delete_if_recorded(con: duckdb.DuckDBPyConnection, batch: Batch, path: Path) -> None:
    """Delete a request file once every line of it is recorded: it holds addresses."""
    done = con.execute(
        "select 1 from ops.batches where batch_id = ? and status = 'loaded' and rows_quarantined = 0",
        [batch.batch_id],
    ).fetchall()
    if done:
        path.unlink(missing_ok=True)
