"""Incremental CRM extract through simple-salesforce (``queryAll``, so deletes arrive with
IsDeleted = true), written as all-text Parquet for the loader to type and validate."""

from __future__ import annotations

import logging
from datetime import datetime
from pathlib import Path
from typing import Any

import duckdb
import pandas as pd

from lead_scoring import crm_schema
from lead_scoring.extract.soql import incremental_query

log = logging.getLogger(__name__)


def _text(value: Any) -> str | None:
    if value is None:
        return None
    if isinstance(value, bool):
        return "true" if value else "false"
    return str(value)


def write_text_parquet(records: list[dict[str, Any]], columns: list[str], path: Path) -> int:
    """Write ``records`` (only ``columns``, every value as text) to ``path``; returns rows."""
    path.parent.mkdir(parents=True, exist_ok=True)
    frame = pd.DataFrame(
        [[_text(r.get(c)) for c in columns] for r in records], columns=columns, dtype="object"
    )
    con = duckdb.connect()
    try:
        con.register("frame", frame)
        casts = ", ".join(f'cast("{c}" as varchar) as "{c}"' for c in columns)
        con.execute(f"copy (select {casts} from frame) to '{path}' (format parquet)")
    finally:
        con.close()
    return len(frame)


def extract_object(
    sf, obj: str, window_start: datetime | None, window_end: datetime, out_dir: Path
) -> dict[str, Any]:
    """Extract ``obj`` records modified in (window_start, window_end] to ``out_dir/<obj>.parquet``."""
    soql = incremental_query(obj, window_start, window_end)
    records = [
        {k: v for k, v in record.items() if k != "attributes"}
        for record in sf.query_all_iter(soql, include_deleted=True)
    ]
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
