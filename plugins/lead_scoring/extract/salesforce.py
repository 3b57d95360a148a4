"""Incremental CRM extract through simple-salesforce (``queryAll``, so deletes arrive with
IsDeleted = true), written as all-text Parquet for the loader to type and validate.

The records stream: simple-salesforce pages through the query (``query_all_iter``, 2,000
records a page) and at most ``CHUNK_ROWS`` records are held in Python at a time; each chunk
is appended to a DuckDB staging file next to the extract (memory-limited, spills to disk),
which is copied to Parquet at the end. Memory stays flat whatever the object's size (a
1M-lead first extract as a list of dicts plus a DataFrame took several GiB)."""

from __future__ import annotations

import logging
from collections.abc import Iterable, Iterator
from datetime import datetime
from itertools import islice
from pathlib import Path
from typing import Any

import duckdb
import pandas as pd

from lead_scoring import crm_schema
from lead_scoring.extract.soql import incremental_query

log = logging.getLogger(__name__)

CHUNK_ROWS = 20_000  # records held in Python at once while extracting
STAGING_MEMORY_LIMIT = "256MB"  # the staging DuckDB spills to disk beyond this


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


def write_text_parquet(
    records: Iterable[dict[str, Any]], columns: list[str], path: Path, chunk_rows: int = CHUNK_ROWS
) -> int:
    """Write ``records`` (only ``columns``, every value as text, in order) to ``path``,
    ``chunk_rows`` records at a time; returns the number of rows."""
    path.parent.mkdir(parents=True, exist_ok=True)
    staging = path.with_name(f".{path.name}.staging.duckdb")
    staging.unlink(missing_ok=True)
    con = duckdb.connect(str(staging), config={"memory_limit": STAGING_MEMORY_LIMIT, "threads": 1})
    rows = 0
    try:
        column_list = ", ".join(f'"{c}" varchar' for c in columns)
        con.execute(f"create table extract_rows ({column_list})")
        casts = ", ".join(f'cast("{c}" as varchar)' for c in columns)
        for chunk in _chunks(records, chunk_rows):
            frame = pd.DataFrame(
                [[_text(r.get(c)) for c in columns] for r in chunk], columns=columns, dtype="object"
            )
            con.register("chunk", frame)
            con.execute(f"insert into extract_rows select {casts} from chunk")
            con.unregister("chunk")
            rows += len(frame)
        target = str(path).replace("'", "''")
        con.execute(f"copy extract_rows to '{target}' (format parquet)")
    finally:
        con.close()
        staging.unlink(missing_ok=True)
        staging.with_name(staging.name + ".wal").unlink(missing_ok=True)
    return rows


def extract_object(
    sf, obj: str, window_start: datetime | None, window_end: datetime, out_dir: Path
) -> dict[str, Any]:
    """Extract ``obj`` records modified in (window_start, window_end] to ``out_dir/<obj>.parquet``."""
    soql = incremental_query(obj, window_start, window_end)
    records = sf.query_all_iter(soql, include_deleted=True)  # pages on demand
    path = out_dir / f"{obj}.parquet"
    rows = write_text_parquet(records, crm_schema.fields(obj), path)
    log.info("extracted %s %s records modified in (%s, %s]", rows, obj, window_start, window_end)
    return {
        "object": obj,
        "path": str(path),
        "rows": rows,
        "window_start": window_start.isoformat() if window_start else None,
        "window_end": window_end.isoformat(),
        "source": "salesforce",
    }
