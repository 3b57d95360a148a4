"""Incremental CRM extract through simple-salesforce (``queryAll``, so deletes arrive with
IsDeleted = true), written as all-text Parquet for the loader to type and validate.

The records stream: simple-salesforce pages through the query (2,000 records a page) and at
most ``CHUNK_ROWS`` records are held in Python at a time; each chunk is appended to a DuckDB
staging file next to the extract (memory-limited, spills to disk), which is copied to
Parquet at the end. Memory stays flat whatever the object's size (a 1M-lead first extract as
a list of dicts plus a DataFrame took several GiB). A window with more records than
``LEADSCORE_EXTRACT_BULK_THRESHOLD`` (a first extract, a mass update) is read by a Bulk API
2.0 query job instead: CSV pages of ``BULK_QUERY_PAGE_ROWS`` that DuckDB parses."""

from __future__ import annotations

import logging
import os
from collections.abc import Iterable, Iterator
from contextlib import contextmanager
from datetime import datetime
from itertools import islice
from pathlib import Path
from typing import Any

import duckdb
import pandas as pd

from lead_scoring import crm_schema
from lead_scoring.crm.bulk import BulkQuery
from lead_scoring.extract.soql import incremental_query
from lead_scoring.warehouse import registered

log = logging.getLogger(__name__)

CHUNK_ROWS = 20_000  # records held in Python at once while extracting
STAGING_MEMORY_LIMIT = "256MB"  # the staging DuckDB spills to disk beyond this
BULK_QUERY_THRESHOLD = 50_000  # more matching records than this: a Bulk API 2.0 query job
BULK_QUERY_PAGE_ROWS = 100_000  # rows per Bulk query results page


def _text(value: Any) -> str | None:
    if value is None:
        return None
    if isinstance(value, bool):
        return "true" if value else "false"
    return str(value)


def _chunks(records: Iterable[dict[str, Any]], size: int) -> Iterator[list[dict[str, Any]]]:
    iterator = iter(records)
    while chunk := list(islice(iterator, size)):
        yield chunk


@contextmanager
def _staging(path: Path, columns: list[str]) -> Iterator[duckdb.DuckDBPyConnection]:
    """A DuckDB staging file next to ``path`` with an all-text ``extract_rows`` table; copied
    to ``path`` (Parquet) when the block ends without error, removed in any case."""
    path.parent.mkdir(parents=True, exist_ok=True)
    staging = path.with_name(f".{path.name}.staging.duckdb")
    staging.unlink(missing_ok=True)
    con = duckdb.connect(str(staging), config={"memory_limit": STAGING_MEMORY_LIMIT, "threads": 1})
    try:
        column_list = ", ".join(f'"{c}" varchar' for c in columns)
        con.execute(f"create table extract_rows ({column_list})")
        yield con
        target = str(path).replace("'", "''")
        con.execute(f"copy extract_rows to '{target}' (format parquet)")
    finally:
        con.close()
        staging.unlink(missing_ok=True)
        staging.with_name(staging.name + ".wal").unlink(missing_ok=True)


def write_text_parquet(
    records: Iterable[dict[str, Any]], columns: list[str], path: Path, chunk_rows: int = CHUNK_ROWS
) -> int:
    """Write ``records`` (only ``columns``, every value as text, in order) to ``path``,
    ``chunk_rows`` records at a time; returns the number of rows."""
    rows = 0
    casts = ", ".join(f'cast("{c}" as varchar)' for c in columns)
    with _staging(path, columns) as con:
        for chunk in _chunks(records, chunk_rows):
            frame = pd.DataFrame(
                [[_text(r.get(c)) for c in columns] for r in chunk], columns=columns, dtype="object"
            )
            with registered(con, "chunk", frame):
                con.execute(f"insert into extract_rows select {casts} from chunk")
            rows += len(frame)
    return rows


def write_csv_pages_parquet(
    pages: Iterable[str], columns: list[str], path: Path, absent: tuple[str, ...] = ()
) -> int:
    """Write Bulk API 2.0 query result pages (CSV text with a header line each; every value
    quoted, null as an empty field) to ``path`` as all-text Parquet, ``columns`` in order,
    picked by header name; returns the number of rows. DuckDB parses each page: no Python
    per record. ``absent`` columns were not queried: they are empty."""
    rows = 0
    page_file = path.with_name(f".{path.name}.page.csv")
    picked = ", ".join(f'"{c}"' if c not in absent else f'null as "{c}"' for c in columns)
    try:
        with _staging(path, columns) as con:
            for page in pages:
                page_file.write_text(page, encoding="utf-8")
                source = str(page_file).replace("'", "''")
                added = con.execute(
                    f"insert into extract_rows select {picked} from read_csv('{source}', header = true, "
                    "all_varchar = true, delim = ',', quote = '\"', escape = '\"')"
                ).fetchall()[0][0]
                rows += added
                log.debug("bulk query page: %s rows", added)
    finally:
        page_file.unlink(missing_ok=True)
    return rows


def _rest_records(sf, first: dict) -> Iterator[dict[str, Any]]:
    """The records of a REST query, page by page from its first page."""
    page = first
    while True:
        yield from page["records"]
        if page.get("done", True) or not page.get("nextRecordsUrl"):
            return
        page = sf.query_more(page["nextRecordsUrl"], identifier_is_url=True, include_deleted=True)


def bulk_query_threshold() -> int:
    """``LEADSCORE_EXTRACT_BULK_THRESHOLD``: more matching records than this are extracted by
    a Bulk API 2.0 query job (CSV pages) instead of REST pages of 2,000 JSON records."""
    raw = os.environ.get("LEADSCORE_EXTRACT_BULK_THRESHOLD", "").strip()
    if not raw:
        return BULK_QUERY_THRESHOLD
    if not raw.isdigit():
        raise ValueError(f"LEADSCORE_EXTRACT_BULK_THRESHOLD={raw!r} is not a whole number of records")
    return int(raw)


def query_to_parquet(
    sf, soql: str, columns: list[str], path: Path, include_deleted: bool, absent: tuple[str, ...] = ()
) -> tuple[int, str]:
    """The records of ``soql`` to ``path`` (all-text Parquet, ``columns`` in order); returns
    (rows, ``rest`` or ``bulk``). The REST query answers first; when its ``totalSize`` is over
    the bulk threshold (a first extract, a mass update), that page is dropped and a Bulk API
    2.0 job fetches the rows as CSV pages: far fewer calls, and no JSON per record. ``absent``
    columns are not in the query (fields the org lacks): they are written empty."""
    first = sf.query(soql, include_deleted=include_deleted)
    if first["totalSize"] > bulk_query_threshold():
        bulk = BulkQuery(sf)
        job_id = bulk.run(soql, include_deleted=include_deleted)
        rows = write_csv_pages_parquet(bulk.pages(job_id, BULK_QUERY_PAGE_ROWS), columns, path, absent)
        via = "bulk"
    else:
        rows = write_text_parquet(_rest_records(sf, first), columns, path)
        via = "rest"
    if rows != first["totalSize"]:  # a record edited meanwhile left the window: the next run has it
        log.info("%s records matched at first, %s extracted (%s)", first["totalSize"], rows, path.name)
    return rows, via


def absent_optional_fields(obj: str, error: Exception) -> tuple[str, ...]:
    """The optional fields of ``obj`` an INVALID_FIELD answer (simple-salesforce's
    ``SalesforceMalformedRequest``) names ("No such column 'Disqualification_Reason__c' on
    entity 'Lead'"); empty for any other error."""
    raw = getattr(error, "content", None)
    content = raw if isinstance(raw, list) else [raw]
    messages = [
        str(item.get("message", ""))
        for item in content
        if isinstance(item, dict) and item.get("errorCode") == "INVALID_FIELD"
    ]
    return tuple(
        f
        for f in crm_schema.OPTIONAL_READ_FIELDS.get(obj, ())
        if any(f"'{f.lower()}'" in m.lower() for m in messages)
    )


def extract_object(
    sf, obj: str, window_start: datetime | None, window_end: datetime, out_dir: Path
) -> dict[str, Any]:
    """Extract ``obj`` records modified in (window_start, window_end] to ``out_dir/<obj>.parquet``
    with ``queryAll`` (soft-deleted records included, IsDeleted = true). An optional field the
    org lacks (``crm_schema.OPTIONAL_READ_FIELDS``, refused as INVALID_FIELD) is left out of the
    query and extracted empty, with a warning."""
    from simple_salesforce.exceptions import SalesforceMalformedRequest  # noqa: PLC0415 - lazy, as the client

    path = out_dir / f"{obj}.parquet"
    columns = crm_schema.fields(obj)
    try:
        rows, via = query_to_parquet(
            sf, incremental_query(obj, window_start, window_end), columns, path, include_deleted=True
        )
    except SalesforceMalformedRequest as exc:
        absent = absent_optional_fields(obj, exc)
        if not absent:
            raise
        log.warning(
            "the CRM has no %s field %s (optional): extracted without it, the column is empty; "
            "create it in the org to use it (docs/reports-and-backtest.md, Sales feedback)",
            obj,
            ", ".join(absent),
        )
        soql = incremental_query(obj, window_start, window_end, omit=absent)
        rows, via = query_to_parquet(sf, soql, columns, path, include_deleted=True, absent=absent)
    log.info("extracted %s %s records modified in (%s, %s] (%s)", rows, obj, window_start, window_end, via)
    return {
        "object": obj,
        "path": str(path),
        "rows": rows,
        "via": via,
        "window_start": window_start.isoformat() if window_start else None,
        "window_end": window_end.isoformat(),
        "source": "salesforce",
    }
