"""The DuckDB warehouse: connection, and the tables Python writes (raw_* and ops).

dbt owns staging/intermediate/marts/reporting; everything here is created idempotently
by ``ensure_schema`` before a load. DuckDB takes one writer process: callers open a
connection for one task and close it at the end (``with connect(...) as con``).
"""

from __future__ import annotations

import os
import re
from collections.abc import Iterator
from contextlib import contextmanager
from datetime import datetime, timezone
from pathlib import Path

import duckdb

from lead_scoring import crm_schema
from lead_scoring.config import UserError

SQL_TYPES = crm_schema.DUCKDB_TYPES

LOAD_STAMPS = '"_batch_id" VARCHAR, "_loaded_at" TIMESTAMP, "_source" VARCHAR'

MAP_TABLES: dict[str, dict[str, str]] = {
    "marketo_activities": {
        "marketoguid": "VARCHAR",
        "leadid": "BIGINT",
        "activitydate": "TIMESTAMP",
        "activitytypeid": "INTEGER",
        "primaryattributevalue": "VARCHAR",
        "attributes": "VARCHAR",
    },
    "marketo_leads": {
        "id": "BIGINT",
        "email": "VARCHAR",
        "sfdcleadid": "VARCHAR",
        "sfdccontactid": "VARCHAR",
        "updatedat": "TIMESTAMP",
    },
    "events": {
        "event_id": "VARCHAR",
        "occurred_at": "TIMESTAMP",
        "email": "VARCHAR",
        "crm_id": "VARCHAR",
        "event_type": "VARCHAR",
        "url": "VARCHAR",
        "properties": "VARCHAR",
    },
}

OPS_DDL = [
    """create table if not exists ops.batches (
        batch_id varchar primary key, source varchar, object varchar, file varchar,
        content_hash varchar, window_start timestamp, window_end timestamp,
        rows_read bigint, rows_loaded bigint, rows_quarantined bigint,
        status varchar, run_id varchar, loaded_at timestamp)""",
    """create table if not exists ops.quarantine (
        source varchar, file varchar, line bigint, record varchar, reason varchar,
        _batch_id varchar, quarantined_at timestamp)""",
    """create table if not exists ops.watermarks (
        object varchar primary key, watermark timestamp, batch_id varchar, updated_at timestamp)""",
    # how far each CRM object's deletions are known (extract/deletions.py): getDeleted windows,
    # Id reconciliations, first full extracts, and the runs that could check neither
    """create table if not exists ops.crm_deletion_checks (
        check_id varchar primary key, object varchar, method varchar, checked_from timestamp,
        checked_until timestamp, deletions bigint, batch_id varchar, run_id varchar,
        checked_at timestamp, note varchar)""",
    """create table if not exists ops.crm_sync_state (
        object varchar, crm_id varchar, payload_hash varchar, synced_at timestamp,
        run_id varchar, primary key (object, crm_id))""",
    """create table if not exists ops.crm_sync_log (
        object varchar, crm_id varchar, operation varchar, status varchar, error varchar,
        payload_hash varchar, job_id varchar, attempt_at timestamp, run_id varchar)""",
    """create table if not exists ops.crm_sync_jobs (
        job_id varchar primary key, object varchar, run_id varchar, state varchar,
        created_at timestamp, updated_at timestamp)""",
    """create table if not exists ops.crm_sync_job_rows (
        job_id varchar, crm_id varchar, payload_hash varchar)""",
    # the records leadscore created once (handoff Tasks, nurture CampaignMembers and their
    # removals), one row per idempotency key, written
    # with the sync state in one transaction: a key here is never sent again
    """create table if not exists ops.crm_actions (
        action_id varchar primary key, object varchar, kind varchar, crm_id varchar,
        owner_id varchar, task_id varchar, due_at timestamp, triggered_at timestamp,
        operation varchar, created_at timestamp, run_id varchar, campaign_name varchar,
        map_file varchar)""",
    """create table if not exists ops.gx_results (
        run_id varchar, suite varchar, expectation varchar, column_name varchar,
        severity varchar, success boolean, unexpected_count bigint, sample varchar,
        validated_at timestamp)""",
    """create table if not exists ops.alerts (
        alert_id varchar primary key, kind varchar, crm_id varchar, message varchar,
        run_id varchar, raised_at timestamp)""",
    # Erasure requests: only the SHA-256 of the normalised address, never the address.
    """create table if not exists ops.erasure_requests (
        email_sha256 varchar primary key, requested_at timestamp, source varchar)""",
    """create table if not exists ops.erasure_subjects (
        email_sha256 varchar, id_kind varchar, subject_id varchar, found_at timestamp,
        primary key (id_kind, subject_id))""",
    """create table if not exists ops.erasure_runs (
        run_id varchar, table_name varchar, rows_erased bigint, erased_at timestamp)""",
    """create table if not exists ops.runs (
        run_id varchar primary key, as_of timestamp, status varchar, summary varchar,
        started_at timestamp, finished_at timestamp)""",
    # the as_of of every write-back that finished: an older run never writes after a newer one
    # (lane: hourly, or fast for the fast lane, recorded before it sends: reverse_etl/sync.py)
    """create table if not exists ops.write_back_instants (
        as_of timestamp, run_id varchar, finished_at timestamp)""",
    # the learned points table (lead_scoring.model): every version kept, one promoted
    # (dbt reads them as the `model_store` source: models/intermediate/predictive)
    """create table if not exists ops.model_versions (
        version_id varchar primary key, trained_at timestamp, horizon_days integer,
        features_used varchar, features_refused varchar, metrics varchar,
        is_promoted boolean default false, promoted_at timestamp,
        calibration_slope double, calibration_intercept double)""",
    # one row per feature and bin; absent_value: the value of a person without a row for the
    # feature in int_people_features (0 for counts, NULL = the Missing bin)
    """create table if not exists ops.model_points (
        version_id varchar, feature varchar, bin_index integer, bin_label varchar,
        lower_bound double, upper_bound double, categories varchar, points double,
        is_categorical boolean, absent_value double,
        primary key (version_id, feature, bin_index))""",
    # the categorical bins' values, one row each (the SQL joins on them)
    """create table if not exists ops.model_bin_values (
        version_id varchar, feature varchar, bin_index integer, value_text varchar,
        primary key (version_id, feature, value_text))""",
    # each load of the seeds into the warehouse (seed_build.py), passed once their tests pass
    """create table if not exists ops.seed_builds (
        fingerprint varchar, run_id varchar, as_of timestamp, started_at timestamp, reason varchar,
        passed boolean)""",
]
# columns added to tables of an earlier version of this file
OPS_COLUMNS_ADDED = [
    ("ops.batches", "notes varchar"),
    ("ops.batches", "rows_erased bigint default 0"),
    ("ops.batches", "rows_already_loaded bigint default 0"),
    # a landing file's size and modification time when last seen with the batch's bytes
    ("ops.batches", "file_size bigint"),
    ("ops.batches", "file_mtime_ns bigint"),
    ("ops.model_versions", "calibration_slope double"),
    ("ops.model_versions", "calibration_intercept double"),
    ("ops.model_points", "is_categorical boolean"),
    ("ops.model_points", "absent_value double"),
    # nurture CampaignMembers: the Campaign, and the MAP list file that carried the change
    ("ops.crm_actions", "campaign_name varchar"),
    ("ops.crm_actions", "map_file varchar"),
    ("ops.write_back_instants", "lane varchar default 'hourly'"),
]


def utc_now() -> datetime:
    """Now as the warehouse stores timestamps: naive UTC."""
    return datetime.now(timezone.utc).replace(tzinfo=None)


def raw_table(obj: str) -> str:
    """The raw table of a CRM object: ``raw_salesforce.<object>`` (User → ``users``)."""
    name = "users" if obj == "User" else obj.lower()
    return f"raw_salesforce.{name}"


def crm_columns(obj: str) -> dict[str, str]:
    """Lower-cased column name → DuckDB type for a CRM object's raw table."""
    return {name.lower(): SQL_TYPES[kind] for name, kind in crm_schema.OBJECTS[obj].items()}


# DuckDB's default memory limit is 80 % of the machine's RAM; on a shared 2-core machine the
# pipeline keeps to a bound (dbt's profile reads the same variables).
DEFAULT_MEMORY_LIMIT = "4GB"
DEFAULT_THREADS = 2


def memory_limit() -> str:
    """DuckDB memory limit of every pipeline connection (``LEADSCORE_DUCKDB_MEMORY_LIMIT``)."""
    value = os.environ.get("LEADSCORE_DUCKDB_MEMORY_LIMIT") or DEFAULT_MEMORY_LIMIT
    if not re.fullmatch(r"\d+(\.\d+)?\s*[KMGT]i?B", value.strip(), re.IGNORECASE):
        raise ValueError(f"LEADSCORE_DUCKDB_MEMORY_LIMIT must be a size such as 4GB or 512MB, got {value!r}")
    return value.strip()


def threads() -> int:
    """DuckDB threads of every pipeline connection (``LEADSCORE_DUCKDB_THREADS``)."""
    value = os.environ.get("LEADSCORE_DUCKDB_THREADS") or str(DEFAULT_THREADS)
    if not value.isdigit() or int(value) < 1:
        raise ValueError(f"LEADSCORE_DUCKDB_THREADS must be a positive integer, got {value!r}")
    return int(value)


def configure(con: duckdb.DuckDBPyConnection) -> None:
    """UTC, bounded memory (spilling to ``<warehouse>.tmp`` beyond it) and the thread count."""
    con.execute("set TimeZone = 'UTC'")
    con.execute(f"set memory_limit = '{memory_limit()}'")
    con.execute(f"set threads = {threads()}")


@contextmanager
def connect(path: Path) -> Iterator[duckdb.DuckDBPyConnection]:
    """One read-write connection for the duration of a task; always closed."""
    path.parent.mkdir(parents=True, exist_ok=True)
    con = duckdb.connect(str(path))
    configure(con)
    try:
        yield con
    finally:
        con.close()


@contextmanager
def read_only(path: Path) -> Iterator[duckdb.DuckDBPyConnection]:
    """A read-only connection for the commands that only read (never creates a warehouse)."""
    try:
        con = duckdb.connect(str(require(path)), read_only=True)
    except duckdb.IOException as error:
        if "lock" not in str(error).lower():
            raise
        holder = re.search(r"\(PID (\d+)\)", str(error))
        raise UserError(
            f"the warehouse at {path} is being written by another process"
            + (f" (PID {holder.group(1)})" if holder else "")
            + ": a run in progress? Try again when it finishes"
        ) from None
    con.execute("set TimeZone = 'UTC'")
    try:
        yield con
    finally:
        con.close()


OPS_TABLES = sorted({name for ddl in OPS_DDL for name in re.findall(r"ops\.(\w+)", ddl)})


def _has_ops_schema(con: duckdb.DuckDBPyConnection) -> bool:
    """Every ops table and added column of this version is there."""
    have = {
        (table, column)
        for table, column in con.execute(
            "select table_name, column_name from information_schema.columns where table_schema = 'ops'"
        ).fetchall()
    }
    tables = {table for table, _ in have}
    added = {(table.split(".")[1], column.split()[0]) for table, column in OPS_COLUMNS_ADDED}
    return set(OPS_TABLES) <= tables and added <= have


@contextmanager
def reading(path: Path) -> Iterator[duckdb.DuckDBPyConnection]:
    """A read-only connection with every ops table present: a warehouse made by an earlier
    version gets the missing ones first (one short write), then is read without a write lock,
    so a status query never stops a running task."""
    with read_only(path) as con:
        complete = _has_ops_schema(con)
    if not complete:
        with connect(path) as con:
            ensure_schema(con)
    with read_only(path) as con:
        yield con


FIRST_RUN = "run `make demo` or `leadscore run` first, or point LEADSCORE_WAREHOUSE at a warehouse"


def require(path: Path) -> Path:
    """``path`` if a warehouse is there; a read-only command never creates one."""
    if not path.is_file():
        raise UserError(f"no warehouse at {path}: {FIRST_RUN}")
    return path


def require_scores(con: duckdb.DuckDBPyConnection, path: Path) -> None:
    """A UserError saying what to run first when the warehouse has no ``marts.lead_scores``."""
    if not table_exists(con, "marts", "lead_scores"):
        raise UserError(f"the warehouse at {path} has no scores yet: {FIRST_RUN}")


def latest_scored_at(path: Path) -> datetime:
    """The newest ``scored_at`` in ``marts.lead_scores`` (the default instant of the commands
    that read scores), or a UserError saying what to run first."""
    with connect(require(path)) as con:
        require_scores(con, path)
        latest = con.execute("select max(scored_at) from marts.lead_scores").fetchall()[0][0]
    if latest is None:
        raise UserError(f"marts.lead_scores in {path} is empty: {FIRST_RUN}")
    return latest


@contextmanager
def registered(con: duckdb.DuckDBPyConnection, name: str, frame) -> Iterator[str]:
    """``frame`` (a pandas DataFrame) visible to SQL on ``con`` as ``name`` inside the block:
    a whole set of rows goes in or out in one statement instead of one per row
    (``executemany`` costs about 0.5 ms a row)."""
    con.register(name, frame)
    try:
        yield name
    finally:
        con.unregister(name)


def fetch_dicts(con: duckdb.DuckDBPyConnection, sql: str, params: list | None = None) -> list[dict]:
    """The rows of ``sql`` as dicts keyed by column name."""
    cursor = con.execute(sql, params or [])
    names = [d[0] for d in cursor.description]
    return [dict(zip(names, row, strict=True)) for row in cursor.fetchall()]


def table_exists(con: duckdb.DuckDBPyConnection, schema: str, table: str) -> bool:
    return bool(
        con.execute(
            "select 1 from information_schema.tables where table_schema = ? and table_name = ?",
            [schema, table],
        ).fetchall()
    )


def table_columns(con: duckdb.DuckDBPyConnection, schema: str, table: str) -> list[str]:
    """The table's column names, in order (none when it does not exist)."""
    rows = con.execute(
        "select column_name from information_schema.columns where table_schema = ? and table_name = ? "
        "order by ordinal_position",
        [schema, table],
    ).fetchall()
    return [row[0] for row in rows]


def ensure_schema(con: duckdb.DuckDBPyConnection) -> None:
    """Create the raw and ops schemas and tables if they do not exist (idempotent)."""
    for schema in ("raw_salesforce", "raw_map", "ops"):
        con.execute(f"create schema if not exists {schema}")
    existing: dict[str, set[str]] = {}
    for table, column in con.execute(
        "select table_name, column_name from information_schema.columns where table_schema = 'raw_salesforce'"
    ).fetchall():
        existing.setdefault(table, set()).add(column)
    for obj in crm_schema.OBJECTS:
        cols = ", ".join(f'"{c}" {t}' for c, t in crm_columns(obj).items())
        con.execute(f"create table if not exists {raw_table(obj)} ({cols}, {LOAD_STAMPS})")
        have = existing.get(raw_table(obj).split(".", 1)[1])
        # a field added to crm_schema since the table was made: an empty column, so the
        # staging models (which select it) work on a warehouse made by an earlier version
        for column, sql_type in crm_columns(obj).items():
            if have is not None and column not in have:
                con.execute(f'alter table {raw_table(obj)} add column "{column}" {sql_type}')
    for table, columns in MAP_TABLES.items():
        cols = ", ".join(f'"{c}" {t}' for c, t in columns.items())
        con.execute(
            f"create table if not exists raw_map.{table} ({cols}, "
            f'"_file" VARCHAR, "_line" BIGINT, {LOAD_STAMPS})'
        )
    for ddl in OPS_DDL:
        con.execute(ddl)
    for table, column in OPS_COLUMNS_ADDED:
        con.execute(f"alter table {table} add column if not exists {column}")
