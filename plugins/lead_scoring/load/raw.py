"""Load text rows into a typed raw table: every row is either loaded or quarantined with a
reason, the batch is recorded in ``ops.batches``, and a batch already loaded is skipped.

All of a batch's writes (rows, quarantine, ledger, watermark) happen in one transaction, so
a crash never leaves half a batch behind and a retry starts clean.
"""

from __future__ import annotations

import logging
from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime

import duckdb

from lead_scoring.warehouse import utc_now

log = logging.getLogger(__name__)


@dataclass(frozen=True)
class Batch:
    """One unit of loading: a CRM extract window or one landing file."""

    batch_id: str
    source: str  # salesforce | files | marketo | events
    object: str  # CRM object or MAP table
    file: str
    run_id: str
    window_start: datetime | None = None
    window_end: datetime | None = None
    content_hash: str | None = None
    file_size: int | None = None  # a landing file's size and modification time when last seen
    file_mtime_ns: int | None = None  # with these bytes: files.content_digest reuses the hash


@dataclass(frozen=True)
class LoadResult:
    batch_id: str
    object: str
    rows_read: int
    rows_loaded: int
    rows_quarantined: int
    skipped: bool
    rows_erased: int = 0  # rows of people with an erasure request: skipped, never written
    rows_already_loaded: int = 0  # versions the raw table holds already (RowRules.version_key)

    def as_dict(self) -> dict:
        return self.__dict__.copy()


MAX_FIELD_CHARS = 32_768  # Salesforce's long text area limit is 131,072; nothing we read needs more


def record_batch(
    con: duckdb.DuckDBPyConnection,
    batch: Batch,
    rows_read: int,
    rows_loaded: int,
    rows_quarantined: int,
    status: str,
    now: datetime,
    notes: str | None = None,
    rows_erased: int = 0,
    rows_already_loaded: int = 0,
) -> None:
    """The ledger row of a batch: rows read = rows loaded + rows quarantined + rows erased
    + rows already loaded."""
    con.execute(
        "insert into ops.batches (batch_id, source, object, file, content_hash, window_start, window_end, "
        "rows_read, rows_loaded, rows_quarantined, status, run_id, loaded_at, notes, rows_erased, "
        "rows_already_loaded, file_size, file_mtime_ns) "
        f"values ({', '.join('?' for _ in range(18))})",
        [batch.batch_id, batch.source, batch.object, batch.file, batch.content_hash, batch.window_start,
         batch.window_end, rows_read, rows_loaded, rows_quarantined, status, batch.run_id, now, notes,
         rows_erased, rows_already_loaded, batch.file_size, batch.file_mtime_ns],
    )  # fmt: skip


def already_loaded(con: duckdb.DuckDBPyConnection, batch_id: str) -> LoadResult | None:
    """The ledger counts of a batch loaded before (or held after a critical check: the same
    content is not loaded again), or None."""
    row = con.execute(
        "select object, rows_read, rows_loaded, rows_quarantined, coalesce(rows_erased, 0), "
        "coalesce(rows_already_loaded, 0) from ops.batches "
        "where batch_id = ? and status in ('loaded', 'held')",
        [batch_id],
    ).fetchall()
    if not row:
        return None
    obj, read, loaded, quarantined, erased, known = row[0]
    return LoadResult(
        batch_id, obj, read, loaded, quarantined, skipped=True, rows_erased=erased, rows_already_loaded=known
    )


def _typed(column: str, sql_type: str) -> str:
    value = f"nullif(trim(\"{column}\"), '')"
    if sql_type == "TIMESTAMP":
        return f"cast(try_cast({value} as timestamptz) at time zone 'UTC' as timestamp)"
    return f"try_cast({value} as {sql_type})"


@dataclass(frozen=True)
class RowRules:
    """What the text rows hold and which go to quarantine: ``columns`` maps each column to
    its SQL type; a row with a missing ``required`` value or a value that does not parse as
    its column's type is quarantined with the reason. ``extra_reasons`` are SQL expressions
    yielding a reason (or NULL) evaluated on the text row.

    Also quarantined: timestamps outside ``timestamp_bounds`` (impossible: far future or
    before 2000), text over ``MAX_FIELD_CHARS``, and, when ``dedupe_key`` is given, every
    row of a key but the newest by ``newest_by`` ("duplicate ... kept the newest").

    With ``version_key`` (e.g. ``("id", "systemmodstamp")``), a good row whose key the target
    table already holds is a version loaded before (an extract's look-back overlap reads it
    again): counted as already loaded, not written twice."""

    columns: dict[str, str]
    required: list[str]
    extra_reasons: list[str] | None = None
    dedupe_key: str | None = None
    newest_by: str | None = None
    timestamp_bounds: tuple[datetime, datetime] | None = None
    version_key: tuple[str, ...] | None = None


@dataclass(frozen=True)
class LoadTarget:
    """Where the loaded rows go and how the batch is stamped: ``table`` receives them with
    the batch's id, load time and source (and ``_file``, ``_line`` for ``raw_map.*``); the
    ledger row of ``batch`` carries ``notes``; ``watermark_object``'s watermark moves to the
    batch's window end, when it has one."""

    table: str
    batch: Batch
    watermark_object: str | None = None
    notes: str | None = None


@dataclass(frozen=True)
class ErasedRows:
    """Rows for which ``sql`` is true belong to a person with an erasure request
    (``privacy.erasure``): they are counted as erased, neither loaded nor quarantined;
    ``on_erased`` sees them (temp table ``_incoming``, ``_erased``) before they are dropped."""

    sql: str
    on_erased: Callable[[duckdb.DuckDBPyConnection], None] | None = None


def quarantine_reason_sql(rules: RowRules) -> str:
    """SQL on a text row: why it is quarantined (every problem, '; '-separated), or NULL.
    A line that did not parse has one reason, its ``_parse_error``."""
    reasons = [f"case when nullif(trim(\"{c}\"), '') is null then 'missing {c}' end" for c in rules.required]
    for column, sql_type in rules.columns.items():
        reasons.append(
            f"case when nullif(trim(\"{column}\"), '') is not null and {_typed(column, sql_type)} is null "
            f"then 'bad {sql_type.lower()} in {column}: ' || left(\"{column}\", 80) end"
        )
        if sql_type == "VARCHAR":
            reasons.append(
                f"case when length(\"{column}\") > {MAX_FIELD_CHARS} then 'oversized field {column} (' "
                f"|| length(\"{column}\") || ' characters)' end"
            )
        if sql_type == "TIMESTAMP" and rules.timestamp_bounds is not None:
            low, high = (b.strftime("%Y-%m-%d %H:%M:%S") for b in rules.timestamp_bounds)
            typed = _typed(column, sql_type)
            reasons.append(
                f"case when {typed} < timestamp '{low}' or {typed} > timestamp '{high}' "
                f"then 'impossible timestamp in {column}: ' || \"{column}\" end"
            )
    reasons.extend(rules.extra_reasons or [])
    return f"coalesce(_parse_error, nullif(concat_ws('; ', {', '.join(reasons)}), ''))"


def _quarantine_duplicates(con: duckdb.DuckDBPyConnection, rules: RowRules) -> None:
    """In ``_incoming``: every copy of a ``dedupe_key`` but the newest gets a reason."""
    if not rules.dedupe_key:
        return
    newest_by = rules.newest_by
    order = f"{_typed(newest_by, rules.columns[newest_by])} desc nulls last, " if newest_by else ""
    con.execute(
        f"""update _incoming set _reason = 'duplicate {rules.dedupe_key} in this batch (kept the newest)'
        where _reason is null and _line in (
            select _line from (
                select _line, row_number() over (
                    partition by trim("{rules.dedupe_key}") order by {order}_line desc) as copy_rank
                from _incoming where _reason is null and not _erased)
            where copy_rank > 1)"""
    )


def _mark_known_versions(con: duckdb.DuckDBPyConnection, rules: RowRules, table: str) -> None:
    """In ``_incoming``: the good rows whose ``version_key`` ``table`` already holds get ``_known``."""
    if not rules.version_key:
        return
    typed = ", ".join(f'{_typed(c, rules.columns[c])} as "_key_{c}"' for c in rules.version_key)
    matches = " and ".join(f'loaded."{c}" = incoming."_key_{c}"' for c in rules.version_key)
    con.execute(
        f"""update _incoming set _known = true where _line in (
            select incoming._line
            from (select _line, {typed} from _incoming where _reason is null and not _erased) as incoming
            inner join {table} as loaded on {matches})"""
    )


def load_text_relation(
    con: duckdb.DuckDBPyConnection,
    relation_sql: str,
    rules: RowRules,
    target: LoadTarget,
    erased: ErasedRows | None = None,
) -> LoadResult:
    """Load ``relation_sql`` (text columns named as ``rules.columns``' keys, plus ``_line`` and
    ``_raw``, the original line text when there is one, and ``_parse_error``, why the line
    could not be parsed, or NULL) into ``target.table``; each row is loaded, quarantined in
    ``ops.quarantine`` with its reasons (``RowRules``) or, with ``erased``, skipped as erased."""
    batch = target.batch
    previous = already_loaded(con, batch.batch_id)
    if previous is not None:
        log.info("batch %s already loaded: skipped", batch.batch_id)
        return previous

    columns = rules.columns
    reason_sql = quarantine_reason_sql(rules)
    typed_columns = ", ".join(f'{_typed(c, t)} as "{c}"' for c, t in columns.items())
    erased_sql = erased.sql if erased is not None else None
    now = utc_now()

    con.execute("begin transaction")
    try:
        con.execute(
            f"create or replace temp table _incoming as "
            f"select *, {reason_sql} as _reason, {erased_sql or 'false'} as _erased from ({relation_sql})"
        )
        con.execute("update _incoming set _reason = null where _erased")  # never keep their record
        _quarantine_duplicates(con, rules)
        con.execute("alter table _incoming add column _known boolean default false")
        _mark_known_versions(con, rules, target.table)
        rows_read = con.execute("select count(*) from _incoming").fetchall()[0][0]
        record_json = "struct_pack(" + ", ".join(f'"{c}" := "{c}"' for c in columns) + ")"
        con.execute(
            "insert into ops.quarantine (source, file, line, record, reason, _batch_id, "
            f"quarantined_at) select ?, ?, _line, left(coalesce(_raw, cast(to_json({record_json}) "
            "as varchar)), 2000), _reason, ?, ? from _incoming where _reason is not null",
            [batch.source, batch.file, batch.batch_id, now],
        )
        quarantined = con.execute("select count(*) from _incoming where _reason is not null").fetchall()[0][0]
        n_erased = con.execute("select count(*) from _incoming where _erased").fetchall()[0][0]
        n_known = con.execute("select count(*) from _incoming where _known").fetchall()[0][0]
        stamp_columns = '"_batch_id", "_loaded_at", "_source"'
        has_line = target.table.startswith("raw_map.")
        target_columns = ", ".join(f'"{c}"' for c in columns)
        line_columns = ', "_file", "_line"' if has_line else ""
        line_values = ", ?, _line" if has_line else ""
        params: list = [batch.file] if has_line else []
        con.execute(
            f"insert into {target.table} ({target_columns}{line_columns}, {stamp_columns}) "
            f"select {typed_columns}{line_values}, ?, ?, ? from _incoming "
            "where _reason is null and not _erased and not _known",
            [*params, batch.batch_id, now, batch.source],
        )
        loaded = rows_read - quarantined - n_erased - n_known
        notes = target.notes
        if n_known:
            key = ", ".join(rules.version_key or ())
            known = f"{n_known} rows already loaded (same {key}): not written again"
            notes = f"{notes}; {known}" if notes else known
        record_batch(con, batch, rows_read, loaded, quarantined, "loaded", now, notes, n_erased, n_known)
        if target.watermark_object and batch.window_end is not None:
            con.execute(
                "insert or replace into ops.watermarks values (?, ?, ?, ?)",
                [target.watermark_object, batch.window_end, batch.batch_id, now],
            )
        if n_erased and erased is not None and erased.on_erased is not None:
            erased.on_erased(con)
        con.execute("drop table _incoming")
        con.execute("commit")
    except Exception:
        con.execute("rollback")
        raise
    if quarantined:
        log.warning("batch %s: %s of %s rows quarantined", batch.batch_id, quarantined, rows_read)
    return LoadResult(
        batch.batch_id, batch.object, rows_read, loaded, quarantined, skipped=False, rows_erased=n_erased,
        rows_already_loaded=n_known,
    )  # fmt: skip
