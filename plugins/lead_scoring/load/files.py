"""Read landing files (Data Loader CSV, Marketo CSV, generic JSONL) and CRM extracts as text
relations for ``raw.load_text_relation``: every line becomes a row (parsed or carrying a
``_parse_error``) numbered by its physical line in the file, so each input line is loaded
or quarantined, never dropped."""

from __future__ import annotations

import logging
from dataclasses import replace
from datetime import datetime, timedelta
from pathlib import Path

import duckdb
import pandas as pd

from lead_scoring import crm_schema, warehouse
from lead_scoring.load.raw import (
    Batch,
    ErasedRows,
    LoadResult,
    LoadTarget,
    RowRules,
    already_loaded,
    file_sha256,
    load_text_relation,
    record_batch,
    utc_now,
)
from lead_scoring.privacy import erasure

log = logging.getLogger(__name__)

EARLIEST_VALID = datetime(2000, 1, 1)
MARKETO_ACTIVITY_REQUIRED = ["marketoguid", "leadid", "activitydate", "activitytypeid"]
# Per raw MAP table: the id a re-sent line repeats, and the column saying which copy is newest.
MAP_KEYS = {
    "marketo_activities": ("marketoguid", None),
    "marketo_leads": ("id", "updatedat"),
    "events": ("event_id", None),
}


class FileLayoutError(ValueError):
    """A file whose header cannot be loaded (missing required column, unknown layout)."""


def timestamp_bounds(as_of: datetime) -> tuple[datetime, datetime]:
    """Timestamps outside these are impossible: before 2000 or more than a day after as_of."""
    return EARLIEST_VALID, as_of + timedelta(days=1)


def _quote(path: Path) -> str:
    return "'" + str(path).replace("'", "''") + "'"


def _read_with_rejects(con: duckdb.DuckDBPyConnection, read_sql: str, first_line: int) -> None:
    """``_good``: the rows ``read_sql`` parsed, with their physical line numbers; ``_rejects``:
    the lines DuckDB could not parse. ``first_line`` is the physical line of the first row
    (2 after a header). The file is read once, each good row numbered in file order; only
    when lines were rejected are the numbers shifted: rejected lines are skipped in the row
    order, so the k-th good row is on line k + #(rejected lines r_i with r_i - i < k), i the
    rank of r_i."""
    con.execute("drop table if exists _rejects; drop table if exists _reject_scans")
    offset = first_line - 1
    con.execute(
        f"create or replace temp table _good as select *, row_number() over () + ? as _line from {read_sql}",
        [offset],
    )
    if con.execute("select count(*) from _rejects").fetchall()[0][0] == 0:
        return
    con.execute(
        "create or replace temp table _good as "
        "with rejected as (select line, row_number() over (order by line) as rank "
        "from (select distinct line - ? as line from _rejects)) "
        "select * replace (_line + (select count(*) from rejected "
        "where rejected.line - rejected.rank < _good._line - ?) as _line) from _good",
        [offset, offset],
    )


def _csv_text_table(con: duckdb.DuckDBPyConnection, path: Path, name: str) -> list[str]:
    """Materialise a CSV as all-text temp table ``name`` (good rows + malformed or wrongly
    encoded lines with a ``_parse_error``); returns the header's column names."""
    _read_with_rejects(
        con,
        f"read_csv({_quote(path)}, all_varchar = true, header = true, store_rejects = true, "
        "rejects_table = '_rejects', rejects_scan = '_reject_scans')",
        first_line=2,
    )
    header = [r[0] for r in con.execute("describe _good").fetchall()][:-1]  # all but _line
    cols = ", ".join(f'"{c}"' for c in header)
    nulls = ", ".join(f'null as "{c}"' for c in header)
    con.execute(
        f"create or replace temp table {name} as "
        f"select _line, null as _raw, null as _parse_error, {cols} from _good "
        "union all "
        "select distinct on (line) line, csv_line, case when error_type = 'INVALID ENCODING' "
        "then 'wrong encoding (not UTF-8)' else 'malformed CSV line: ' || error_message end, "
        f"{nulls} from _rejects"
    )
    return header


# read_csv reads a JSONL file as one text column when no line contains its delimiter: four
# control bytes in a row (DuckDB takes up to 4). With a single byte, a line made of just
# that byte read as an empty line and was skipped without a trace.
LINE_DELIMITER = "\x1f\x1e\x1d\x1c"


def _jsonl_text_table(con: duckdb.DuckDBPyConnection, path: Path, columns: dict[str, str]) -> None:
    """One row per non-blank line of a JSONL file, its fields extracted as text; lines that
    are not UTF-8, not JSON or not an object carry a ``_parse_error``. JSON functions only
    ever see valid documents (DuckDB evaluates CASE branches eagerly)."""
    _read_with_rejects(
        con,
        f"read_csv({_quote(path)}, columns = {{'line': 'VARCHAR'}}, header = false, "
        f"delim = '{LINE_DELIMITER}', quote = '', escape = '', auto_detect = false, store_rejects = true, "
        "rejects_table = '_rejects', rejects_scan = '_reject_scans')",
        first_line=1,
    )
    # One parse per line for the text fields (a list of paths), not one per field: 3x faster.
    # `properties` is kept as JSON text (an object), the others as their string values.
    texts = [c for c in columns if c != "properties"]
    paths = ", ".join(f"'$.{c}'" for c in texts)

    def field(column: str) -> str:
        if column == "properties":
            return "cast(json_extract(doc, '$.properties') as varchar)"
        return f"_texts[{texts.index(column) + 1}]"

    extracted = ", ".join(f'{field(c)} as "{c}"' for c in columns)
    nulls = ", ".join(f'null as "{c}"' for c in columns)
    con.execute(
        "create or replace temp table _map_text as "
        "with lines as (select _line, line from _good where nullif(trim(line, ' '), '') is not null), "
        "valid as (select *, case when json_valid(line) then line end as valid_json from lines), "
        "typed as (select *, json_type(valid_json) as doc_type from valid), "
        "docs as (select *, case when doc_type = 'OBJECT' then valid_json else '{}' end as doc from typed), "
        f"fields as (select *, json_extract_string(doc, [{paths}]) as _texts from docs) "
        "select _line, line as _raw, case when valid_json is null then 'unparseable JSON line' "
        f"when doc_type <> 'OBJECT' then 'JSON line is not an object' end as _parse_error, {extracted} "
        "from fields "
        "union all "
        "select distinct on (line) line, csv_line, case when error_type = 'INVALID ENCODING' "
        "then 'wrong encoding (not UTF-8)' else 'unreadable line: ' || error_message end, "
        f"{nulls} from _rejects"
    )


def _select_columns(
    header: list[str], wanted: dict[str, str], required: list[str], path: Path
) -> tuple[str, str | None]:
    """Map the file's columns (case-insensitive) to ``wanted``; absent optional ones are NULL.
    Returns the select list and a note on schema drift (extra or missing optional columns)."""
    by_lower = {h.lower(): h for h in header if not h.startswith("_")}
    missing = [c for c in required if c not in by_lower]
    if missing:
        raise FileLayoutError(
            f"{path}: required column(s) {', '.join(missing)} missing from the header "
            f"({', '.join(header)}); fix the export and drop the file again"
        )
    extra = sorted(h for low, h in by_lower.items() if low not in wanted)
    absent = [c for c in wanted if c not in by_lower]
    notes = "; ".join(
        part
        for part in (
            f"extra columns ignored: {', '.join(extra)}" if extra else "",
            f"optional columns missing (loaded as NULL): {', '.join(absent)}" if absent else "",
        )
        if part
    )
    select = ", ".join(f'"{by_lower[c]}" as "{c}"' if c in by_lower else f'null as "{c}"' for c in wanted)
    return select, notes or None


def _load(
    con: duckdb.DuckDBPyConnection,
    text_table: str,
    header: list[str],
    rules: RowRules,
    target: LoadTarget,
    path: Path,
) -> LoadResult:
    """Load ``text_table`` (a file read as text, columns as in ``header``) by ``rules`` into
    ``target``; the ledger notes any schema drift, and rows of erased people are skipped."""
    select, notes = _select_columns(header, rules.columns, rules.required, path)
    erased_sql = erasure.erased_row_sql(target.table, "_raw") if erasure.has_requests(con) else None
    erased = None
    if erased_sql is not None:
        erased = ErasedRows(
            erased_sql,
            on_erased=lambda con: erasure.remember_subjects(
                con, target.table, utc_now(), "_incoming", "_erased"
            ),
        )
    return load_text_relation(
        con,
        f"select _line, _raw, _parse_error, {select} from {text_table}",
        rules,
        replace(target, notes=notes),
        erased,
    )


def crm_landing_files(folder: Path) -> list[tuple[str, Path]]:
    """The files of the CRM landing folder as (object, path): the known objects' CSVs in
    extract order, then every other file (an unknown object's folder, a file outside any
    object folder, a non-CSV file), which the loader rejects with a reason instead of
    leaving it unread and unreported. Hidden and ``.tmp`` files are not listed."""
    if not folder.is_dir():
        return []
    files = [
        path
        for path in sorted(folder.rglob("*"))
        if path.is_file()
        and path.suffix != ".tmp"
        and not any(part.startswith(".") for part in path.relative_to(folder).parts)
    ]  # hidden and .tmp files are still being written (or an editor's): not read
    entries = [
        (obj, path)
        for obj in crm_schema.EXTRACT_ORDER
        for path in files
        if path.parent == folder / obj and path.suffix == ".csv"
    ]
    known = {path for _, path in entries}
    for path in files:
        if path not in known:
            entries.append((path.parent.name if path.parent != folder else "", path))
    return entries


def _crm_file_problem(obj: str, path: Path) -> str | None:
    if obj not in crm_schema.OBJECTS:
        where = f"folder {obj!r}" if obj else "no object folder"
        return (
            f"unknown CRM object ({where}): Data Loader exports go in landing/crm/<Object>/*.csv, "
            f"Object one of {', '.join(crm_schema.EXTRACT_ORDER)}"
        )
    if path.suffix.lower() not in {".csv", ".parquet"}:
        return f"not a CSV file ({path.suffix or 'no extension'}): export {obj} from Data Loader as CSV"
    return None


def _id_reasons(obj: str) -> list[str]:
    """A row whose Id is not an 18-character Salesforce Id of ``obj`` (the key prefix names
    the object: 00Q Lead, 003 Contact, ...) belongs to no record of this object."""
    prefix = crm_schema.ID_PREFIX.get(obj)
    reasons = [
        "case when nullif(trim(id), '') is not null and not regexp_full_match(trim(id), '[0-9A-Za-z]{18}') "
        "then 'malformed Id ' || left(trim(id), 40) || ' (expected 18 letters and digits)' end"
    ]
    if prefix:
        reasons.append(
            f"case when regexp_full_match(trim(id), '[0-9A-Za-z]{{18}}') and left(trim(id), 3) <> '{prefix}' "
            f"then 'Id ' || trim(id) || ' is not a {obj} Id ({obj} Ids start with {prefix}): row for another "
            "object' end"
        )
    return reasons


def load_crm_text(
    con: duckdb.DuckDBPyConnection,
    obj: str,
    path: Path,
    batch: Batch,
    *,
    watermark: bool,
    as_of: datetime,
    skip_loaded_versions: bool = False,
) -> LoadResult:
    """Load a CRM object's rows from an extract (Parquet) or a Data Loader CSV. A file that
    cannot be loaded (unknown object, not a CSV, a required column missing from its header)
    is rejected: every line quarantined with the reason, the other files still load.
    ``skip_loaded_versions`` (API extracts, whose windows overlap): a row whose (Id,
    SystemModstamp) the raw table holds already is counted, not written again."""
    problem = _crm_file_problem(obj, path)
    if problem:
        return reject_file(con, batch, problem, path, header=path.suffix.lower() == ".csv")
    columns = warehouse.crm_columns(obj)
    try:
        if path.suffix == ".parquet":
            con.execute(
                f"create or replace temp table _crm_text as select row_number() over () as _line, "
                f"null as _raw, null as _parse_error, * from read_parquet({_quote(path)})"
            )
            header = [r[0] for r in con.execute("describe _crm_text").fetchall()]
        else:
            header = _csv_text_table(con, path, "_crm_text")
        rules = RowRules(
            columns, ["id", "systemmodstamp"], extra_reasons=_id_reasons(obj), dedupe_key="id",
            newest_by="systemmodstamp", timestamp_bounds=timestamp_bounds(as_of),
            version_key=("id", "systemmodstamp") if skip_loaded_versions else None,
        )  # fmt: skip
        target = LoadTarget(warehouse.raw_table(obj), batch, watermark_object=obj if watermark else None)
        return _load(con, "_crm_text", header, rules, target, path)
    except (FileLayoutError, duckdb.Error) as error:
        if path.suffix == ".parquet":  # our own extract: a bug to fix, not a bad input file
            raise
        return reject_file(con, batch, _file_error(error, path), path, header=True)
    finally:
        con.execute("drop table if exists _crm_text")


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


def load_map_file(con: duckdb.DuckDBPyConnection, path: Path, run_id: str, as_of: datetime) -> LoadResult:
    """Load one MAP landing file into ``raw_map.<layout>``; an unknown layout or unreadable
    file is recorded as a rejected batch with one quarantine row naming the file, and is not
    retried (the same content is the same batch)."""
    digest = file_sha256(path)
    layout = detect_map_layout(path)
    table = f"raw_map.{layout}" if layout else "raw_map.unknown"
    batch = Batch(
        batch_id=f"map:{path.name}:{digest[:16]}",
        source="events" if layout == "events" else "marketo",
        object=table,
        file=str(path),
        run_id=run_id,
        content_hash=digest,
    )
    if layout is None:
        return reject_file(
            con,
            batch,
            "unknown MAP file layout (expected a Marketo activity or lead CSV, or .jsonl events)",
            path,
            header=path.suffix == ".csv",
        )
    if already_loaded(con, batch.batch_id):
        return already_loaded(con, batch.batch_id)
    columns = warehouse.MAP_TABLES[layout]
    key, newest = MAP_KEYS[layout]
    try:
        if layout == "events":
            _jsonl_text_table(con, path, columns)
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
        rules = RowRules(
            columns, required, extra_reasons=extra, dedupe_key=key, newest_by=newest,
            timestamp_bounds=timestamp_bounds(as_of),
        )  # fmt: skip
        return _load(con, "_map_text", header, rules, LoadTarget(table, batch), path)
    except (FileLayoutError, duckdb.Error) as error:
        return reject_file(con, batch, _file_error(error, path), path, header=layout != "events")
    finally:
        con.execute("drop table if exists _map_text")


def _file_error(error: Exception, path: Path) -> str:
    """The first line of a load error, without the file name (the quarantine row has it)."""
    return str(error).splitlines()[0].removeprefix(f"{path}: ")[:500]


def _file_lines(path: Path, header: bool) -> list[tuple[int, str]]:
    """(physical line number, text) of each non-blank line, after the header if ``header``;
    bytes that are not UTF-8 are replaced so any file can be shown."""
    lines = path.read_bytes().decode("utf-8", errors="replace").splitlines()
    numbered = [(i, line) for i, line in enumerate(lines, start=1) if line.strip()]
    return numbered[1:] if header and numbered else numbered


def reject_file(
    con: duckdb.DuckDBPyConnection, batch: Batch, reason: str, path: Path | None = None, header: bool = False
) -> LoadResult:
    """Record a whole file as rejected: each of its rows (non-blank lines after the header)
    quarantined with ``reason``, so rows read = rows quarantined. A file with no rows gets a
    line-0 quarantine row naming the file and reason (a notice: 0 rows read, 0 quarantined).
    A ledger row with status ``rejected``; the same content is not retried (fix the file:
    new content, new batch)."""
    if con.execute("select 1 from ops.batches where batch_id = ?", [batch.batch_id]).fetchall():
        return LoadResult(batch.batch_id, batch.object, 0, 0, 0, skipped=True)
    now = utc_now()
    rows = _file_lines(path, header) if path is not None and path.is_file() else []
    quarantine = [(line, text[:2000]) for line, text in rows] or [(0, None)]
    con.execute("begin transaction")
    # one statement, however many lines the file has
    with warehouse.registered(con, "_rejected_lines", pd.DataFrame(quarantine, columns=["line", "record"])):
        con.execute(
            "insert into ops.quarantine (source, file, line, record, reason, _batch_id, quarantined_at) "
            "select ?, ?, line, record, ?, ?, ? from _rejected_lines",
            [batch.source, batch.file, reason, batch.batch_id, now],
        )
    record_batch(con, batch, len(rows), 0, len(rows), "rejected", now, reason)
    con.execute("commit")
    log.warning("file %s rejected: %s", batch.file, reason)
    return LoadResult(batch.batch_id, batch.object, len(rows), 0, len(rows), skipped=False)
