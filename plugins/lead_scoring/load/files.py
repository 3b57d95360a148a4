"""Read landing files (Data Loader CSV, Marketo CSV, generic JSONL) and CRM extracts as text
relations for ``raw.load_text_relation``: every line becomes a row (parsed or carrying a
``_parse_error``) numbered by its physical line in the file, so each input line is loaded
or quarantined, never dropped.

Landing files are opened by ``landing.open_file`` (never through a symbolic link, only
regular files below the landing root): a refused file is a rejected batch with one
quarantine row saying why. DuckDB reads the opened file itself (``/proc/self/fd/<n>``). A
rejected file is read line by line in bounded pieces, never whole."""

from __future__ import annotations

import hashlib
import logging
import os
from collections.abc import Callable
from dataclasses import dataclass, field, replace
from datetime import datetime, timedelta
from pathlib import Path

import duckdb
import pandas as pd

from lead_scoring import crm_schema, landing, warehouse
from lead_scoring.load.raw import (
    Batch,
    ErasedRows,
    LoadResult,
    LoadTarget,
    RowRules,
    already_loaded,
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


# A file refused as a whole is quarantined line by line in Python: each line keeps at most
# RECORD_CHARS characters (as load_text_relation keeps), and a file keeps at most LINES_KEPT
# rows; one more row counts the lines after them (every line accounted for, memory bounded).
RECORD_CHARS = 2_000
RECORD_BYTES = 4 * RECORD_CHARS  # UTF-8 takes at most 4 bytes a character
LINES_KEPT = 1_000
HEADER_BYTES = 1 << 16  # a header line longer than this is not a layout we know


class FileLayoutError(ValueError):
    """A file whose header cannot be loaded (missing required column, unknown layout)."""


def content_digest(con: duckdb.DuckDBPyConnection, opened: landing.LandingFile) -> str:
    """The file's SHA-256, which names its batch. Loaded files stay in the landing folder and
    every run lists them again: a file with the path, size and modification time (ns) it had
    when a batch was recorded from it is taken to hold the same bytes and is not read again
    (at scale L, hashing the 4.3 GB of MAP files already loaded took 4.9 s of every run and of
    every fast-lane minute). Any other file is read and hashed; when its bytes are those of a
    batch recorded from it (a touched file, a batch recorded before this check), the batch
    takes its current size and time."""
    signature = [opened.size, opened.mtime_ns, str(opened.path)]
    known = con.execute(
        "select content_hash from ops.batches where file_size = ? and file_mtime_ns = ? and file = ? "
        "and content_hash is not null order by loaded_at desc limit 1",
        signature,
    ).fetchall()
    if known:
        return known[0][0]
    digest = opened.sha256()
    con.execute(
        "update ops.batches set file_size = ?, file_mtime_ns = ? where file = ? and content_hash = ?",
        [*signature, digest],
    )
    return digest


def clear_record(head: bytes) -> str:
    """A quarantined line as stored: its text (bytes that are not UTF-8 replaced), truncated."""
    return head.decode("utf-8", errors="replace")[:RECORD_CHARS]


@dataclass
class QuarantinedLines:
    """The quarantine rows of a file's refused lines: the first ``LINES_KEPT`` one row each,
    then one row (at the first line not kept, no record) counting the others, so a file of
    any size costs bounded memory and rows and every line is still accounted for."""

    count: int = 0
    kept: list[tuple[int, str | None, str]] = field(default_factory=list)
    first_unkept: int = 0
    last_unkept: int = 0
    unkept_reasons: set[str] = field(default_factory=set)

    @property
    def full(self) -> bool:
        return len(self.kept) >= LINES_KEPT

    def add(self, line: int, record: str | None, reason: str) -> None:
        if self.full:
            self.add_unkept(1, line, line, reason)
        else:
            self.count += 1
            self.kept.append((line, record, reason))

    def add_unkept(self, count: int, first: int, last: int, reason: str) -> None:
        """``count`` lines, ``first`` to ``last``, counted but not stored."""
        if count:
            self.count += count
            self.first_unkept = self.first_unkept or first
            self.last_unkept = last
            if len(self.unkept_reasons) < 2:
                self.unkept_reasons.add(reason)

    def rows(self) -> list[tuple[int, str | None, str]]:
        unkept = self.count - len(self.kept)
        if not unkept:
            return list(self.kept)
        why = next(iter(self.unkept_reasons)) if len(self.unkept_reasons) == 1 else "various reasons"
        summary = (
            f"{unkept:,} more lines ({self.first_unkept}-{self.last_unkept}) quarantined, "
            f"counted but not stored: {why}"
        )
        return [*self.kept, (self.first_unkept, None, summary)]

    def write(
        self, con: duckdb.DuckDBPyConnection, batch: Batch, now: datetime, rows: list | None = None
    ) -> None:
        """Insert the rows (or ``rows``) into ``ops.quarantine``, in one statement."""
        frame = pd.DataFrame(self.rows() if rows is None else rows, columns=["line", "record", "reason"])
        if frame.empty:
            return
        with warehouse.registered(con, "_rejected_lines", frame):
            con.execute(
                "insert into ops.quarantine (source, file, line, record, reason, _batch_id, quarantined_at) "
                "select ?, ?, line, record, reason, ?, ? from _rejected_lines",
                [batch.source, batch.file, batch.batch_id, now],
            )


def refused_batch(
    prefix: str, source: str, obj: str, refused: landing.RefusedFile, root: Path, run_id: str
) -> Batch:
    """The batch of a landing entry that was not opened: one id per entry and reason, so the
    same refusal is recorded once, however many runs see the entry."""
    where = os.path.relpath(os.path.abspath(refused.path), os.path.abspath(root))
    tag = hashlib.sha256(f"{where}\n{refused.reason}".encode()).hexdigest()[:16]
    return Batch(f"{prefix}:{refused.path.name}:refused:{tag}", source, obj, str(refused.path), run_id)


def previous_batch(con: duckdb.DuckDBPyConnection, batch: Batch) -> LoadResult | None:
    """The counts of a batch recorded before (loaded, held or rejected), or None."""
    previous = already_loaded(con, batch.batch_id)
    if (
        previous is None
        and con.execute("select 1 from ops.batches where batch_id = ?", [batch.batch_id]).fetchall()
    ):
        previous = LoadResult(batch.batch_id, batch.object, 0, 0, 0, skipped=True)
    return previous


def timestamp_bounds(as_of: datetime) -> tuple[datetime, datetime]:
    """Timestamps outside these are impossible: before 2000 or more than a day after as_of."""
    return EARLIEST_VALID, as_of + timedelta(days=1)


def _quote(path: Path | str) -> str:
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


def _csv_header(con: duckdb.DuckDBPyConnection, read_path: str) -> list[str]:
    """A CSV's column names, from DuckDB's sniffer (a sample, not the whole file), tolerant
    of bad lines as ``_csv_text_table`` is."""
    sql = (
        f"describe select * from read_csv({_quote(read_path)}, all_varchar = true, header = true, "
        "ignore_errors = true)"
    )
    return [r[0] for r in con.execute(sql).fetchall()]


def _csv_text_table(con: duckdb.DuckDBPyConnection, read_path: str, name: str) -> list[str]:
    """Materialise a CSV as all-text temp table ``name`` (good rows + malformed or wrongly
    encoded lines with a ``_parse_error``); returns the header's column names."""
    _read_with_rejects(
        con,
        f"read_csv({_quote(read_path)}, all_varchar = true, header = true, store_rejects = true, "
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


def _jsonl_text_table(con: duckdb.DuckDBPyConnection, read_path: str, columns: dict[str, str]) -> None:
    """One row per non-blank line of a JSONL file, its fields extracted as text; lines that
    are not UTF-8, not JSON or not an object carry a ``_parse_error``. JSON functions only
    ever see valid documents (DuckDB evaluates CASE branches eagerly)."""
    _read_with_rejects(
        con,
        f"read_csv({_quote(read_path)}, columns = {{'line': 'VARCHAR'}}, header = false, "
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
    """The entries of the CRM landing folder as (object, path): the known objects' CSVs in
    extract order, then every other entry (an unknown object's folder, a file outside any
    object folder, a non-CSV file, a symbolic link, a FIFO), which the loader rejects with a
    reason instead of leaving it unread and unreported. Hidden and ``.tmp`` files are not
    listed (still being written, or an editor's); linked folders are listed, not walked."""
    files = [path for path in landing.entries(folder, recursive=True) if path.suffix != ".tmp"]
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
    # the objects leadscore reads (a Campaign or CampaignMember export is not read: leadscore
    # only finds Campaigns by name and writes members)
    if obj not in crm_schema.EXTRACT_ORDER:
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


def load_crm_file(
    con: duckdb.DuckDBPyConnection, obj: str, path: Path, run_id: str, as_of: datetime, root: Path
) -> LoadResult:
    """Load a Data Loader CSV of ``root``'s ``crm/<obj>/`` (the files CRM source): one batch
    per content, so the same bytes are never loaded twice; a file ``landing.open_file``
    refuses (a symbolic link, not a regular file) is a rejected batch saying why."""
    try:
        with landing.open_file(path, root) as opened:
            digest = content_digest(con, opened)
            batch = Batch(
                batch_id=f"files:{obj}:{path.name}:{digest[:16]}",
                source="files",
                object=obj,
                file=str(path),
                run_id=run_id,
                content_hash=digest,
                file_size=opened.size,
                file_mtime_ns=opened.mtime_ns,
            )
            return _load_crm(con, obj, opened, batch, watermark=False, as_of=as_of)
    except landing.RefusedFile as refused:
        return reject_file(con, refused_batch("files", "files", obj, refused, root, run_id), refused.reason)


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
    """Load a CRM object's rows from an extract (Parquet) or a Data Loader CSV, as ``batch``.
    A file that cannot be loaded (unknown object, not a CSV, a required column missing from
    its header, a symbolic link) is rejected: every line quarantined with the reason, the
    other files still load. Our own extract that cannot be loaded is a bug: it raises.
    ``skip_loaded_versions`` (API extracts, whose windows overlap): a row whose (Id,
    SystemModstamp) the raw table holds already is counted, not written again."""
    try:
        with landing.open_file(path, path.parent) as opened:
            return _load_crm(
                con,
                obj,
                opened,
                batch,
                watermark=watermark,
                as_of=as_of,
                skip_loaded_versions=skip_loaded_versions,
            )
    except landing.RefusedFile as refused:
        if path.suffix == ".parquet":
            raise
        return reject_file(con, batch, refused.reason)


def _load_crm(
    con: duckdb.DuckDBPyConnection,
    obj: str,
    opened: landing.LandingFile,
    batch: Batch,
    *,
    watermark: bool,
    as_of: datetime,
    skip_loaded_versions: bool = False,
) -> LoadResult:
    path = opened.path
    previous = previous_batch(con, batch)
    if previous is not None:
        return previous
    problem = _crm_file_problem(obj, path)
    if problem:
        return reject_file(con, batch, problem, opened, header=path.suffix.lower() == ".csv")
    columns = warehouse.crm_columns(obj)
    rules = RowRules(
        columns, ["id", "systemmodstamp"], extra_reasons=_id_reasons(obj), dedupe_key="id",
        newest_by="systemmodstamp", timestamp_bounds=timestamp_bounds(as_of),
        version_key=("id", "systemmodstamp") if skip_loaded_versions else None,
    )  # fmt: skip
    try:
        if path.suffix == ".parquet":
            con.execute(
                f"create or replace temp table _crm_text as select row_number() over () as _line, "
                f"null as _raw, null as _parse_error, * from read_parquet({_quote(opened.read_path)})"
            )
            header = [r[0] for r in con.execute("describe _crm_text").fetchall()]
        else:
            # the header first: a file missing a required column is rejected before DuckDB reads it all
            _select_columns(_csv_header(con, opened.read_path), rules.columns, rules.required, path)
            header = _csv_text_table(con, opened.read_path, "_crm_text")
        target = LoadTarget(warehouse.raw_table(obj), batch, watermark_object=obj if watermark else None)
        return _load(con, "_crm_text", header, rules, target, path)
    except (FileLayoutError, duckdb.Error) as error:
        if path.suffix == ".parquet":  # our own extract: a bug to fix, not a bad input file
            raise
        return reject_file(con, batch, _file_error(error, opened), opened, header=True)
    finally:
        con.execute("drop table if exists _crm_text")


def detect_map_layout(path: Path, header: bytes) -> str | None:
    """``marketo_activities``, ``marketo_leads``, ``events`` or None (unknown layout), from
    the file's name and first line ``header``."""
    if path.suffix == ".jsonl":
        return "events"
    if path.suffix != ".csv":
        return None
    first = header.decode("utf-8", errors="replace").strip().lower()
    names = {c.strip().strip('"') for c in first.split(",")}
    if "marketoguid" in names:
        return "marketo_activities"
    if "sfdcleadid" in names or "sfdccontactid" in names:
        return "marketo_leads"
    return None


def load_map_file(
    con: duckdb.DuckDBPyConnection, path: Path, run_id: str, as_of: datetime, root: Path | None = None
) -> LoadResult:
    """Load one MAP landing file (below ``root``, by default its own folder) into
    ``raw_map.<layout>``; a file that is refused (a symbolic link, not a regular file), of
    unknown layout or unreadable is recorded as a rejected batch with its lines quarantined
    (or one row naming the file), and is not retried (the same content is the same batch)."""
    root = root or path.parent
    try:
        with landing.open_file(path, root) as opened:
            return _load_map(con, opened, run_id, as_of)
    except landing.RefusedFile as refused:
        source = "events" if path.suffix == ".jsonl" else "marketo"
        batch = refused_batch("map", source, "raw_map.unknown", refused, root, run_id)
        return reject_file(con, batch, refused.reason)


def _load_map(
    con: duckdb.DuckDBPyConnection, opened: landing.LandingFile, run_id: str, as_of: datetime
) -> LoadResult:
    path = opened.path
    digest = content_digest(con, opened)
    with opened.reader() as handle:
        layout = detect_map_layout(path, handle.readline(HEADER_BYTES))
    table = f"raw_map.{layout}" if layout else "raw_map.unknown"
    batch = Batch(
        batch_id=f"map:{path.name}:{digest[:16]}",
        source="events" if layout == "events" else "marketo",
        object=table,
        file=str(path),
        run_id=run_id,
        content_hash=digest,
        file_size=opened.size,
        file_mtime_ns=opened.mtime_ns,
    )
    previous = previous_batch(con, batch)
    if previous is not None:
        return previous
    if layout is None:
        return reject_file(
            con,
            batch,
            "unknown MAP file layout (expected a Marketo activity or lead CSV, or .jsonl events)",
            opened,
            header=path.suffix == ".csv",
        )
    columns = warehouse.MAP_TABLES[layout]
    key, newest = MAP_KEYS[layout]
    try:
        if layout == "events":
            _jsonl_text_table(con, opened.read_path, columns)
            header = list(columns)
            required = ["event_id", "occurred_at", "event_type"]
            extra = [
                "case when nullif(trim(email), '') is null and nullif(trim(crm_id), '') is null "
                "then 'missing email and crm_id' end"
            ]
        else:
            required = MARKETO_ACTIVITY_REQUIRED if layout == "marketo_activities" else ["id"]
            # the header first: a file missing a required column is rejected before DuckDB reads it all
            _select_columns(_csv_header(con, opened.read_path), columns, required, path)
            header = _csv_text_table(con, opened.read_path, "_map_text")
            extra = None
        rules = RowRules(
            columns, required, extra_reasons=extra, dedupe_key=key, newest_by=newest,
            timestamp_bounds=timestamp_bounds(as_of),
        )  # fmt: skip
        return _load(con, "_map_text", header, rules, LoadTarget(table, batch), path)
    except (FileLayoutError, duckdb.Error) as error:
        return reject_file(con, batch, _file_error(error, opened), opened, header=layout != "events")
    finally:
        con.execute("drop table if exists _map_text")


def _file_error(error: Exception, opened: landing.LandingFile) -> str:
    """The first line of a load error, without the file name (the quarantine row has it)."""
    text = str(error).replace(opened.read_path, str(opened.path))
    return text.splitlines()[0].removeprefix(f"{opened.path}: ")[:500]


def reject_file(
    con: duckdb.DuckDBPyConnection,
    batch: Batch,
    reason: str,
    opened: landing.LandingFile | None = None,
    header: bool = False,
    record: Callable[[bytes], str | None] = clear_record,
) -> LoadResult:
    """Record a whole file as rejected: each of its rows (non-blank lines after the header)
    quarantined with ``reason`` and ``record(line)`` (``QuarantinedLines``: the first
    ``LINES_KEPT``, then a count), so rows read = rows quarantined. The file is read in
    bounded pieces, never whole. A file with no rows, or one not opened, gets a line-0 row
    naming the file and reason. A ledger row with status ``rejected``; the same content is
    not retried (fix the file: new content, new batch)."""
    if con.execute("select 1 from ops.batches where batch_id = ?", [batch.batch_id]).fetchall():
        return LoadResult(batch.batch_id, batch.object, 0, 0, 0, skipped=True)
    now = utc_now()
    lines = QuarantinedLines()
    if opened is not None:
        with opened.reader() as handle:
            numbered = landing.non_blank_lines(handle, RECORD_BYTES)
            if header:
                next(numbered, None)
            for line in numbered:
                lines.add(line.number, record(line.head), reason)
                if lines.full:  # the rest only counted, a MiB at a time
                    lines.add_unkept(*landing.count_non_blank(handle, line.number), reason)
                    break
    con.execute("begin transaction")
    try:
        lines.write(con, batch, now, lines.rows() or [(0, None, reason)])
        record_batch(con, batch, lines.count, 0, lines.count, "rejected", now, reason)
        con.execute("commit")
    except Exception:
        con.execute("rollback")
        raise
    log.warning("file %s rejected: %s", batch.file, reason)
    return LoadResult(batch.batch_id, batch.object, lines.count, 0, lines.count, skipped=False)
