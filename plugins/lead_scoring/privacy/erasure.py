"""Erasure requests: remove a person from every raw and derived table and keep them out.

A request is an e-mail address. Only the SHA-256 of the normalised address (trimmed,
lower-cased) is stored, in ``ops.erasure_requests``; the address itself is never written.
Requests come from ``leadscore erase --email ... [--file emails.csv]`` or from CSV files
dropped in ``<landing>/erasure/``, which ``load.erasure_requests`` loads like any landing
file: a line that is not an address is quarantined (its value as a SHA-256 only) and the
run goes on; a file whose lines are all recorded is deleted, since it holds addresses.

At the start of every load (``pipeline.load_raw``) and again after it:

1. the ids of erased people are found and kept in ``ops.erasure_subjects`` (CRM Lead and
   Contact ids, Marketo lead ids): MAP activities carry only those ids, not the address;
2. their rows are deleted from ``raw_salesforce.lead/contact/task`` (Tasks by ``WhoId``),
   ``raw_map.*``, ``ops.quarantine`` (records containing the address), the write-back
   ledgers, and every table in the dbt schemas with an ``email``, ``crm_id`` or ``Id``
   column (incremental tables like ``marts.lead_score_history`` survive a rebuild);
3. ``ops.batches`` moves the deleted rows from ``rows_loaded``/``rows_quarantined`` to
   ``rows_erased``: rows read = loaded + quarantined + erased holds for every batch.

Later loads skip the rows of erased people (``load_text_relation(..., ErasedRows(...))``):
counted as erased, never written, never quarantined. With the people gone from raw, dbt's
payload models no longer contain them and the write-back never sends them.
"""

from __future__ import annotations

import csv
import hashlib
import logging
import re
from collections.abc import Iterable, Iterator
from dataclasses import dataclass, field
from datetime import datetime
from pathlib import Path

import duckdb
import pandas as pd

from lead_scoring import landing, warehouse

log = logging.getLogger(__name__)

EMAIL_PATTERN = r"[A-Za-z0-9._%+-]+@[A-Za-z0-9-]+(?:\.[A-Za-z0-9-]+)+"
_VALID_EMAIL = re.compile(rf"^{EMAIL_PATTERN}$")
# (the fast lane's narrow build drops its fast_ schemas after each minute; one killed midway
# leaves them until the next)
DBT_SCHEMAS = ("staging", "intermediate", "marts", "reporting", "fast_intermediate", "fast_marts")
_HASHES = "(select email_sha256 from ops.erasure_requests)"

# raw table → (kind, column) rules; kinds: email (hash of the address), crm / marketo (ids
# of erased people). Rows matching any rule belong to an erased person.
RAW_RULES: dict[str, list[tuple[str, str]]] = {
    "raw_salesforce.lead": [("email", "email"), ("crm", "id"), ("crm", "convertedcontactid")],
    "raw_salesforce.contact": [("email", "email"), ("crm", "id")],
    "raw_salesforce.task": [("crm", "whoid")],
    "raw_map.events": [("email", "email"), ("crm", "crm_id")],
    "raw_map.marketo_leads": [
        ("email", "email"),
        ("marketo", "id"),
        ("crm", "sfdcleadid"),
        ("crm", "sfdccontactid"),
    ],
    "raw_map.marketo_activities": [("marketo", "leadid")],
}


class ErasureRequestError(ValueError):
    """An erasure request that cannot be recorded (not an e-mail address, unreadable file)."""


@dataclass
class ErasureResult:
    requests_added: int = 0
    rows_erased: dict[str, int] = field(default_factory=dict)

    @property
    def total(self) -> int:
        return sum(self.rows_erased.values())


def normalize_email(email: str) -> str:
    return email.strip().lower()


def email_sha256(email: str) -> str:
    """SHA-256 (hex) of the trimmed, lower-cased address; the same as the SQL ``sha256``."""
    return hashlib.sha256(normalize_email(email).encode("utf-8")).hexdigest()


NOT_AN_ADDRESS = "not an e-mail address (expected name@domain.tld)"
MAX_LINE_BYTES = 4_096  # a request line longer than this is refused (an address has at most 254)


def validate_email(email: str, where: str) -> str:
    """The normalised address, or an error naming ``where`` (never echoing the value)."""
    value = normalize_email(email or "")
    if not _VALID_EMAIL.match(value):
        raise ErasureRequestError(f"{where}: {NOT_AN_ADDRESS}")
    return value


@dataclass(frozen=True)
class RequestLine:
    """One non-blank line of an erasure request file: the request (``email_sha256``) or why
    the line holds none (``problem``); ``value_sha256`` is the SHA-256 of the trimmed,
    lower-cased value, the only form in which a bad line's value is ever kept."""

    number: int
    email_sha256: str | None
    problem: str | None
    value_sha256: str


def _cells(text: str) -> list[str] | None:
    try:
        return next(csv.reader([text]), [])
    except csv.Error:
        return None


def request_lines(lines: Iterable[landing.Line]) -> Iterator[RequestLine]:
    """The requests of an erasure file's non-blank lines (``landing.non_blank_lines`` with
    ``MAX_LINE_BYTES``): a CSV with an ``email`` column, or one address per line and no
    header. Raises ErasureRequestError if the first line is a header of several columns
    without ``email`` (nothing is yielded then)."""
    column = None
    for line in lines:
        head = line.head.removeprefix(b"\xef\xbb\xbf") if column is None else line.head
        try:
            text = head.decode("utf-8")
        except UnicodeDecodeError:
            text = None
        cells = _cells(text) if text is not None else None
        if column is None:
            names = [cell.strip().lower() for cell in cells or []]
            if "email" in names:
                column = names.index("email")
                continue
            if len(names) > 1:
                raise ErasureRequestError("no 'email' column in the header; one address per line also works")
            column = 0
        value = cells[column] if cells is not None and column < len(cells) else (text or "")
        if line.length > MAX_LINE_BYTES:
            problem = f"line too long ({line.length:,} bytes; an address has at most 254 characters)"
        elif text is None:
            problem = "wrong encoding (not UTF-8)"
        elif cells is None:
            problem = "malformed CSV line"
        else:
            problem = None if _VALID_EMAIL.match(normalize_email(value)) else NOT_AN_ADDRESS
        value_hash = email_sha256(value) if text is not None else hashlib.sha256(head).hexdigest()
        yield RequestLine(line.number, None if problem else value_hash, problem, value_hash)


def read_request_file(path: Path) -> tuple[list[str], list[str]]:
    """(hashes of the valid addresses, errors naming file and line) of a CSV with an
    ``email`` column, or of a file with one address per line and no header (for
    ``leadscore erase --file``; read line by line, never whole)."""
    hashes, errors = [], []
    try:
        with path.open("rb") as handle:
            for request in request_lines(landing.non_blank_lines(handle, MAX_LINE_BYTES)):
                if request.problem:
                    errors.append(f"{path}:{request.number}: {request.problem}")
                else:
                    hashes.append(request.email_sha256)
    except OSError as error:
        raise ErasureRequestError(f"{path}: cannot read the erasure file ({type(error).__name__})") from error
    except ErasureRequestError as error:
        raise ErasureRequestError(f"{path}: {error}") from None
    return hashes, errors


def record_requests(con: duckdb.DuckDBPyConnection, hashes: list[str], source: str, now: datetime) -> int:
    """Add requests (hashes only), in one statement; returns how many were new."""
    if not hashes:
        return 0
    before = con.execute("select count(*) from ops.erasure_requests").fetchall()[0][0]
    frame = pd.DataFrame({"email_sha256": list(dict.fromkeys(hashes))}, dtype="object")
    with warehouse.registered(con, "_new_requests", frame):
        con.execute(
            "insert or ignore into ops.erasure_requests select email_sha256, ?, ? from _new_requests",
            [now, source],
        )
    return con.execute("select count(*) from ops.erasure_requests").fetchall()[0][0] - before


def has_requests(con: duckdb.DuckDBPyConnection) -> bool:
    return bool(con.execute("select 1 from ops.erasure_requests limit 1").fetchall())


def _rule_sql(kind: str, column: str) -> str:
    if kind == "email":
        return f'sha256(lower(trim("{column}"))) in {_HASHES}'
    subjects = f"select subject_id from ops.erasure_subjects where id_kind = '{kind}'"
    return f'trim(cast("{column}" as varchar)) in ({subjects})'


def text_mentions_erased_sql(column: str) -> str:
    """SQL: the text ``column`` contains the address of an erased person."""
    return (
        f"list_has_any(list_transform(regexp_extract_all(coalesce({column}, ''), '{EMAIL_PATTERN}'), "
        f"lambda address: sha256(lower(address))), (select coalesce(list(email_sha256), []) "
        "from ops.erasure_requests))"
    )


def erased_row_sql(table: str, text_column: str | None = None) -> str | None:
    """SQL true for a row of ``table`` (or of its text form, with the original line in
    ``text_column``) that belongs to an erased person; None for tables without people."""
    parts = [_rule_sql(kind, column) for kind, column in RAW_RULES.get(table, [])]
    if text_column:
        parts.append(text_mentions_erased_sql(text_column))
    return " or ".join(f"coalesce({p}, false)" for p in parts) if parts else None


def remember_subjects(
    con: duckdb.DuckDBPyConnection,
    table: str,
    now: datetime,
    relation: str | None = None,
    where: str = "true",
) -> None:
    """Record the CRM and Marketo ids on the rows of ``table`` (or of ``relation``, rows of
    that table's shape) whose address was erased: MAP activities carry only those ids."""
    rules = RAW_RULES.get(table, [])
    if ("email", "email") not in rules:
        return
    for kind, column in rules:
        if kind == "email":
            continue
        subject_id = f'trim(cast("{column}" as varchar))'
        con.execute(
            f"""insert or ignore into ops.erasure_subjects
            select distinct sha256(lower(trim(email))), '{kind}', {subject_id}, ?
            from {relation or table}
            where ({where}) and {_rule_sql("email", "email")} and nullif({subject_id}, '') is not null""",
            [now],
        )


def refresh_subjects(con: duckdb.DuckDBPyConnection, now: datetime) -> None:
    """Record the CRM and Marketo ids of erased people found in the raw tables."""
    for table in RAW_RULES:
        remember_subjects(con, table, now)
    # Marketo leads synced to an erased CRM person (their address may differ or be missing).
    con.execute(
        """insert or ignore into ops.erasure_subjects
        select distinct null, 'marketo', cast(id as varchar), ? from raw_map.marketo_leads
        where sfdcleadid in (select subject_id from ops.erasure_subjects where id_kind = 'crm')
           or sfdccontactid in (select subject_id from ops.erasure_subjects where id_kind = 'crm')""",
        [now],
    )


def _delete_counted(con: duckdb.DuckDBPyConnection, table: str, where: str, ledger_column: str | None) -> int:
    """Delete the matching rows; with ``ledger_column``, move their count per ``_batch_id``
    from that ops.batches column to rows_erased."""
    batch_column = "_batch_id"
    if ledger_column:
        counts = con.execute(
            f"select {batch_column}, count(*) from {table} where {where} group by 1"
        ).fetchall()
        for batch_id, count in counts:
            con.execute(
                f"update ops.batches set {ledger_column} = {ledger_column} - ?, "
                "rows_erased = coalesce(rows_erased, 0) + ? where batch_id = ?",
                [count, count, batch_id],
            )
    deleted = con.execute(f"select count(*) from {table} where {where}").fetchall()[0][0]
    if deleted:
        con.execute(f"delete from {table} where {where}")
    return deleted


def _people_tables(con: duckdb.DuckDBPyConnection) -> list[tuple[str, list[str]]]:
    """dbt-built base tables with a column naming a person (email, crm_id, Id)."""
    rows = con.execute(
        "select c.table_schema || '.' || c.table_name, list(lower(c.column_name)) "
        "from information_schema.columns c join information_schema.tables t "
        "on t.table_schema = c.table_schema and t.table_name = c.table_name "
        f"where t.table_type = 'BASE TABLE' and c.table_schema in ({', '.join(map(repr, DBT_SCHEMAS))}) "
        "group by 1 order by 1"
    ).fetchall()
    return [(table, columns) for table, columns in rows if {"email", "crm_id", "id"} & set(columns)]


def purge(con: duckdb.DuckDBPyConnection, run_id: str, now: datetime) -> ErasureResult:
    """Delete every row of an erased person that is in the warehouse now (one transaction);
    counts per table are recorded in ``ops.erasure_runs``."""
    result = ErasureResult()
    if not has_requests(con):
        return result
    con.execute("begin transaction")
    try:
        refresh_subjects(con, now)
        for table in RAW_RULES:
            result.rows_erased[table] = _delete_counted(con, table, erased_row_sql(table), "rows_loaded")
        result.rows_erased["ops.quarantine"] = _delete_counted(
            con, "ops.quarantine", text_mentions_erased_sql("record"), "rows_quarantined"
        )
        crm_ids = _rule_sql("crm", "crm_id")
        for table in ("ops.crm_sync_state", "ops.crm_sync_log", "ops.crm_sync_job_rows"):
            result.rows_erased[table] = _delete_counted(con, table, crm_ids, None)
        con.execute(f"update ops.gx_results set sample = null where {text_mentions_erased_sql('sample')}")
        for table, columns in _people_tables(con):
            rules = [_rule_sql("email", "email")] if "email" in columns else []
            rules += [_rule_sql("crm", c) for c in ("crm_id", "id") if c in columns]
            where = " or ".join(f"coalesce({r}, false)" for r in rules)
            result.rows_erased[table] = _delete_counted(con, table, where, None)
        result.rows_erased = {t: n for t, n in result.rows_erased.items() if n}
        for table, count in result.rows_erased.items():
            con.execute("insert into ops.erasure_runs values (?, ?, ?, ?)", [run_id, table, count, now])
        con.execute("commit")
    except Exception:
        con.execute("rollback")
        raise
    if result.total:
        log.info(
            "erasure: %d rows of erased people removed (%s)", result.total, ", ".join(result.rows_erased)
        )
    return result


def record_load_erasures(
    con: duckdb.DuckDBPyConnection, run_id: str, table: str, rows: int, now: datetime
) -> None:
    """Rows of erased people a load skipped (they are in ops.batches.rows_erased too)."""
    if rows:
        con.execute(
            "insert into ops.erasure_runs values (?, ?, ?, ?)",
            [run_id, f"{table} (skipped at load)", rows, now],
        )
