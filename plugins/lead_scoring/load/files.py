"""Read landing files (Data Loader CSV, Marketo CSV, generic JSONL) and CRM extracts as text
relations for ``raw.load_text_relation``: every line becomes a row (parsed or carrying a
``_parse_error``), so each input line is loaded or quarantined, never dropped."""

from __future__ import annotations

from pathlib import Path

import duckdb

from lead_scoring import warehouse
from lead_scoring.load.raw import (
    Batch,
    LoadResult,
    already_loaded,
    file_sha256,
    load_text_relation,
    utc_now,
)


class FileLayoutError(ValueError):
    """A file whose header cannot be loaded (missing required column, unknown layout)."""


def _quote(path: Path) -> str:
    return "'" + str(path).replace("'", "''") + "'"


def _csv_text_table(con: duckdb.DuckDBPyConnection, path: Path, name: str) -> list[str]:
    """Materialise a CSV as all-text temp table ``name`` (good rows + malformed lines with a
    ``_parse_error``); returns the header's column names."""
    con.execute("drop table if exists _rejects; drop table if exists _reject_scans")
    con.execute(
        f"create or replace temp table _csv_rows as select * from read_csv({_quote(path)}, "
        "all_varchar = true, header = true, store_rejects = true, "
        "rejects_table = '_rejects', rejects_scan = '_reject_scans')"
    )
    header = [r[0] for r in con.execute("describe _csv_rows").fetchall()]
    cols = ", ".join(f'"{c}"' for c in header)
    nulls = ", ".join(f'null as "{c}"' for c in header)
    con.execute(
        f"create or replace temp table {name} as "
        f"select row_number() over () + 1 as _line, null as _raw, null as _parse_error, {cols} "
        f"from _csv_rows "
        f"union all "
        f"select distinct on (line) line, csv_line, 'malformed CSV line: ' || error_message, {nulls} "
        f"from _rejects"
    )
    return header


def _select_columns(header: list[str], wanted: dict[str, str], required: list[str], path: Path) -> str:
    """Map the file's columns (case-insensitive) to ``wanted``; absent optional ones are NULL."""
    by_lower = {h.lower(): h for h in header}
    missing = [c for c in required if c not in by_lower]
    if missing:
        raise FileLayoutError(
            f"{path}: required column(s) {', '.join(missing)} missing from the header "
            f"({', '.join(header)}); fix the export and drop the file again"
        )
    return ", ".join(f'"{by_lower[c]}" as "{c}"' if c in by_lower else f'null as "{c}"' for c in wanted)


def _load(
    con, text_table, target_table, header, columns, required, batch, path, extra=None, watermark=None
) -> LoadResult:
    select = _select_columns(header, columns, required, path)
    return load_text_relation(
        con,
        relation_sql=f"select _line, _raw, _parse_error, {select} from {text_table}",
        target_table=target_table,
        columns=columns,
        required=required,
        batch=batch,
        extra_reasons=extra,
        watermark_object=watermark,
    )


def load_crm_text(
    con: duckdb.DuckDBPyConnection, obj: str, path: Path, batch: Batch, *, watermark: bool
) -> LoadResult:
    """Load a CRM object's rows from an extract (Parquet) or a Data Loader CSV."""
    columns = warehouse.crm_columns(obj)
    if path.suffix == ".parquet":
        con.execute(
            f"create or replace temp table _crm_text as select row_number() over () as _line, "
            f"null as _raw, null as _parse_error, * from read_parquet({_quote(path)})"
        )
        header = [r[0] for r in con.execute("describe _crm_text").fetchall()][3:]
    else:
        header = _csv_text_table(con, path, "_crm_text")
    result = _load(
        con,
        "_crm_text",
        warehouse.raw_table(obj),
        header,
        columns,
        ["id", "systemmodstamp"],
        batch,
        path,
        watermark=obj if watermark else None,
    )
    con.execute("drop table if exists _crm_text")
    return result


MARKETO_ACTIVITY_REQUIRED = ["marketoguid", "leadid", "activitydate", "activitytypeid"]


def detect_map_layout(path: Path) -> str | None:
    """``marketo_activities``, ``marketo_leads``, ``events`` or None (unknown layout)."""
    if path.suffix == ".jsonl":
        return "events"
    if path.suffix != ".csv":
        return None
    with path.open("rb") as handle:
        first = handle.readline().decode("utf-8", errors="replace").strip().lower()
    names = {c.strip().strip('"') for c in first.split(",")}
    if "marketoguid" in names:
        return "marketo_activities"
    if "sfdcleadid" in names or "sfdccontactid" in names:
        return "marketo_leads"
    return None


def load_map_file(con: duckdb.DuckDBPyConnection, path: Path, run_id: str) -> LoadResult:
    """Load one MAP landing file into ``raw_map.<layout>``; an unknown layout is recorded as a
    rejected batch with one quarantine row naming the file, and not retried."""
    digest = file_sha256(path)
    layout = detect_map_layout(path)
    table = f"raw_map.{layout}" if layout else "raw_map.unknown"
    source = "events" if layout == "events" else "marketo"
    batch = Batch(
        batch_id=f"map:{path.name}:{digest[:16]}",
        source=source,
        object=table,
        file=str(path),
        run_id=run_id,
        content_hash=digest,
    )
    if layout is None:
        return reject_file(
            con, batch, "unknown MAP file layout (expected a Marketo activity or lead CSV, or .jsonl events)"
        )
    columns = warehouse.MAP_TABLES[layout]
    try:
        if layout == "events":
            extracted = ", ".join(
                (
                    f"cast(json_extract(doc, '$.{c}') as varchar)"
                    if c == "properties"
                    else f"json_extract_string(doc, '$.{c}')"
                )
                + f' as "{c}"'
                for c in columns
            )
            # Three steps so no JSON function ever sees an invalid document.
            con.execute(
                "create or replace temp table _map_text as "
                "with numbered as (select row_number() over () as _line, line from read_csv("
                f"{_quote(path)}, columns = {{'line': 'VARCHAR'}}, header = false, "
                "delim = '\x1f', quote = '', escape = '', auto_detect = false)), "
                "lines as (select * from numbered where nullif(trim(line), '') is not null), "
                "valid as (select *, case when json_valid(line) then line end as valid_json from lines), "
                "typed as (select *, json_type(valid_json) as doc_type from valid), "
                "docs as (select *, case when doc_type = 'OBJECT' then valid_json else '{}' end as doc "
                "from typed) "
                "select _line, line as _raw, case when valid_json is null then 'unparseable JSON line' "
                "when doc_type <> 'OBJECT' then 'JSON line is not an object' end as _parse_error, "
                f"{extracted} from docs"
            )
            header = list(columns)
            required = ["event_id", "occurred_at", "event_type"]
            extra = [
                "case when nullif(trim(email), '') is null and nullif(trim(crm_id), '') is null "
                "then 'missing email and crm_id' end"
            ]
        else:
            header = _csv_text_table(con, path, "_map_text")
            required = MARKETO_ACTIVITY_REQUIRED if layout == "marketo_activities" else ["id"]
            extra = None
        return _load(con, "_map_text", table, header, columns, required, batch, path, extra=extra)
    except (FileLayoutError, duckdb.Error) as error:
        return reject_file(con, batch, str(error).splitlines()[0][:500])
    finally:
        con.execute("drop table if exists _map_text")


def reject_file(con: duckdb.DuckDBPyConnection, batch: Batch, reason: str) -> LoadResult:
    """Record a whole file as rejected: one quarantine row with the reason, a ledger row."""
    previous = con.execute(
        "select rows_read from ops.batches where batch_id = ?", [batch.batch_id]
    ).fetchall()
    if previous or already_loaded(con, batch.batch_id):
        return LoadResult(batch.batch_id, batch.object, 0, 0, 0, skipped=True)
    now = utc_now()
    con.execute("begin transaction")
    con.execute(
        "insert into ops.quarantine (source, file, line, record, reason, _batch_id, quarantined_at) "
        "values (?, ?, 0, null, ?, ?, ?)",
        [batch.source, batch.file, reason, batch.batch_id, now],
    )
    con.execute(
        "insert into ops.batches values (?, ?, ?, ?, ?, ?, ?, 0, 0, 1, 'rejected', ?, ?)",
        [
            batch.batch_id,
            batch.source,
            batch.object,
            batch.file,
            batch.content_hash,
            batch.window_start,
            batch.window_end,
            batch.run_id,
            now,
        ],
    )
    con.execute("commit")
    return LoadResult(batch.batch_id, batch.object, 0, 0, 1, skipped=False)
