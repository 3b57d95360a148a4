"""SQLite storage of the CRM sandbox: schema, typed values, record reads/writes, bulk loading.

One table per object of ``crm_schema.OBJECTS`` (columns = the object's fields, ``Id`` primary
key) plus the sandbox's own tables (``_bulk_jobs``, ``_bulk_job_data``, ``_bulk_job_results``,
``_api_usage``, ``_sandbox_meta``, ``_write_log`` and ``_delete_log``, the delete log that
getDeleted reads).

Storage formats (one normalised, sortable format per type, so SQL comparisons work):

- ``datetime``: TEXT ``2026-11-01T10:00:00.000+0000`` (always UTC, millisecond precision; the
  exact format Salesforce returns, so reads need no conversion);
- ``date``: TEXT ``2026-11-01``;
- ``boolean``: INTEGER 0/1; ``int``: INTEGER; ``double``: REAL;
- ``string``: TEXT with ``COLLATE NOCASE`` (SOQL compares and sorts text case-insensitively);
- ``id``: TEXT, 18-character Salesforce Ids.
"""

from __future__ import annotations

import functools
import json
import math
import queue
import random
import re
import sqlite3
import threading
import time
from collections.abc import Callable, Iterator, Mapping, Sequence
from contextlib import contextmanager
from datetime import UTC, date, datetime, timedelta, timezone
from pathlib import Path
from typing import Any

from lead_scoring import crm_schema

SCHEMA_VERSION = "1"

# Fields the API never lets a client write (Salesforce sets them).
READ_ONLY_FIELDS = frozenset({"Id", "IsDeleted", "CreatedDate", "LastModifiedDate", "SystemModstamp"})

_SQL_TYPES = {
    "id": "TEXT",
    "string": "TEXT COLLATE NOCASE",
    "int": "INTEGER",
    "double": "REAL",
    "boolean": "INTEGER",
    "date": "TEXT",
    "datetime": "TEXT",
}

_ID_RE = re.compile(r"^[a-zA-Z0-9]{15}(?:[a-zA-Z0-9]{3})?$")
_DATE_RE = re.compile(r"^(\d{4})-(\d{2})-(\d{2})$")
_DATETIME_RE = re.compile(
    r"^(\d{4})-(\d{2})-(\d{2})T(\d{2}):(\d{2}):(\d{2})(?:\.(\d{1,9}))?"
    r"(Z|[+-]\d{2}:?\d{2})?$"
)
_BASE62 = "0123456789ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz"
_ID_SUFFIX_CHARS = "ABCDEFGHIJKLMNOPQRSTUVWXYZ012345"
_MAX_STRING = 131072

DATETIME_FORMAT_EXAMPLE = "2026-11-01T10:00:00.000+0000"


# --------------------------------------------------------------------------------------------
# Errors
# --------------------------------------------------------------------------------------------
class RowError(Exception):
    """A per-record rejection, reported the way Salesforce does (statusCode, message, fields)."""

    def __init__(self, status_code: str, message: str, fields: Sequence[str] = ()) -> None:
        super().__init__(f"{status_code}: {message}")
        self.status_code = status_code
        self.message = message
        self.fields = list(fields)

    def as_dict(self) -> dict[str, Any]:
        """The error object of a Collections/REST response."""
        return {"statusCode": self.status_code, "message": self.message, "fields": self.fields}


# --------------------------------------------------------------------------------------------
# Names
# --------------------------------------------------------------------------------------------
_OBJECTS_LOWER = {name.lower(): name for name in crm_schema.OBJECTS}
_FIELDS_LOWER = {obj: {f.lower(): f for f in fields} for obj, fields in crm_schema.OBJECTS.items()}
_PREFIX_TO_OBJECT = {prefix: obj for obj, prefix in crm_schema.ID_PREFIX.items()}


def canonical_object(name: str) -> str | None:
    """The object's canonical name (``lead`` -> ``Lead``), or None if unknown."""
    return _OBJECTS_LOWER.get(name.lower())


def canonical_field(obj: str, name: str) -> str | None:
    """The field's canonical name on ``obj`` (case-insensitive), or None if unknown."""
    return _FIELDS_LOWER[obj].get(name.lower())


def field_type(obj: str, field: str) -> str:
    """The crm_schema type of a canonical field."""
    return crm_schema.OBJECTS[obj][field]


def object_for_id(record_id: str) -> str | None:
    """The object an Id belongs to, from its 3-character key prefix."""
    return _PREFIX_TO_OBJECT.get(record_id[:3])


def quote_ident(name: str) -> str:
    """A double-quoted SQLite identifier (object and field names are validated before)."""
    return '"' + name.replace('"', '""') + '"'


# --------------------------------------------------------------------------------------------
# Ids and timestamps
# --------------------------------------------------------------------------------------------
def id18(id15: str) -> str:
    """The 18-character form of a 15-character Salesforce Id (case-safe checksum suffix)."""
    if len(id15) != 15:
        return id15
    suffix = ""
    for chunk in range(3):
        flags = 0
        for pos in range(5):
            char = id15[chunk * 5 + pos]
            if "A" <= char <= "Z":
                flags |= 1 << pos
        suffix += _ID_SUFFIX_CHARS[flags]
    return id15 + suffix


def normalize_id(value: str) -> str:
    """An 18-character Id from a 15- or 18-character one (other strings are returned as is)."""
    return id18(value) if len(value) == 15 else value


def is_valid_id(value: str) -> bool:
    """Whether ``value`` looks like a Salesforce Id (15 or 18 alphanumerics)."""
    return bool(_ID_RE.match(value))


_id_random = random.Random()


def new_key(prefix: str) -> str:
    """A new 18-character Id with a 3-character key prefix (``750`` for a Bulk job, ...);
    sandbox-made Ids carry ``SB`` after the prefix."""
    body = "".join(_id_random.choices(_BASE62, k=10))
    return id18(prefix + "SB" + body)


def new_id(obj: str) -> str:
    """A new 18-character Id with the object's key prefix (``00Q`` for Lead, ...)."""
    return new_key(crm_schema.ID_PREFIX[obj])


def format_datetime(moment: datetime) -> str:
    """A datetime in the stored/returned Salesforce format (UTC, milliseconds)."""
    if moment.tzinfo is None:
        moment = moment.replace(tzinfo=UTC)
    moment = moment.astimezone(UTC)
    return moment.strftime("%Y-%m-%dT%H:%M:%S.") + f"{moment.microsecond // 1000:03d}+0000"


def parse_datetime(text: str, *, require_tz: bool = False) -> str:
    """Normalise an ISO-8601 datetime (``Z``, ``+00:00``, ``+0000``, optional fraction) to the
    stored format; a missing offset means UTC unless ``require_tz``. Raises ValueError."""
    match = _DATETIME_RE.match(text.strip())
    if not match:
        raise ValueError(f"not a datetime: {text!r}")
    year, month, day, hour, minute, second, fraction, tz = match.groups()
    if tz is None and require_tz:
        raise ValueError(f"datetime without a time zone: {text!r}")
    micros = int((fraction or "0")[:6].ljust(6, "0"))
    if tz in (None, "Z"):
        tzinfo = UTC
    else:
        sign = 1 if tz[0] == "+" else -1
        digits = tz[1:].replace(":", "")
        offset = timedelta(hours=int(digits[:2]), minutes=int(digits[2:]))
        tzinfo = timezone(sign * offset)
    moment = datetime(int(year), int(month), int(day), int(hour), int(minute), int(second), micros, tzinfo)
    return format_datetime(moment)


def parse_date(text: str) -> str:
    """Validate a ``YYYY-MM-DD`` date and return it. Raises ValueError."""
    match = _DATE_RE.match(text.strip())
    if not match:
        raise ValueError(f"not a date: {text!r}")
    return date(*map(int, match.groups())).isoformat()


class _Clock:
    """Strictly increasing UTC timestamps at millisecond precision, for SystemModstamp.

    The clock is the machine's, shifted by ``offset_ms`` once a test sets it
    (``POST /_sandbox/clock``): a sandbox loaded with last month's data can then live at the
    data's time (its stamps, ``Date`` header and delete-log retention follow)."""

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self._last = 0
        self.offset_ms = 0

    def now_ms(self) -> int:
        with self._lock:
            current = max(int(time.time() * 1000) + self.offset_ms, self._last + 1)
            self._last = current
            return current

    def current_ms(self) -> int:
        """The clock's time without taking a stamp (never before the last stamp given)."""
        with self._lock:
            return max(int(time.time() * 1000) + self.offset_ms, self._last)

    def now(self) -> datetime:
        """The clock's time as an aware UTC datetime (see ``current_ms``)."""
        return datetime.fromtimestamp(self.current_ms() / 1000, UTC)

    def set_now(self, moment: datetime) -> None:
        """Run the clock from ``moment`` on. Refused (ValueError) when a stamp later than
        ``moment`` was already given: SystemModstamp never goes back."""
        if moment.tzinfo is None:
            moment = moment.replace(tzinfo=UTC)
        target = int(moment.timestamp() * 1000)
        with self._lock:
            if target < self._last:
                given = format_datetime(datetime.fromtimestamp(self._last / 1000, UTC))
                raise ValueError(
                    f"the clock cannot go back to {format_datetime(moment)}: it already stamped {given}"
                )
            self.offset_ms = target - int(time.time() * 1000)

    def stamp(self) -> str:
        return format_datetime(datetime.fromtimestamp(self.now_ms() / 1000, UTC))


CLOCK = _Clock()


def now_stamp() -> str:
    """The current UTC time in the stored format, strictly increasing within this process."""
    return CLOCK.stamp()


# --------------------------------------------------------------------------------------------
# Typed values
# --------------------------------------------------------------------------------------------
def _type_error(field: str, value: Any) -> RowError:
    shown = value if isinstance(value, str) else repr(value)
    if isinstance(shown, str) and len(shown) > 80:
        shown = shown[:77] + "..."
    return RowError(
        "INVALID_TYPE_ON_FIELD_IN_RECORD", f"{field}: value not of required type: {shown}", [field]
    )


def _too_long(field: str) -> RowError:
    return RowError("STRING_TOO_LONG", f"{field}: data value too large (max {_MAX_STRING})", [field])


def coerce_value(obj: str, field: str, value: Any) -> Any:
    """Convert a JSON or CSV value to its stored form, checked against the field's type.

    Raises RowError (``INVALID_TYPE_ON_FIELD_IN_RECORD``, ``MALFORMED_ID``,
    ``STRING_TOO_LONG``) naming the field."""
    if value is None:
        return None
    ftype = field_type(obj, field)
    if isinstance(value, (list, dict)):
        raise _type_error(field, value)
    if ftype == "string":
        if isinstance(value, bool):
            return "true" if value else "false"
        text = str(value) if not isinstance(value, str) else value
        if len(text) > _MAX_STRING:
            raise _too_long(field)
        return text
    if ftype == "id":
        if isinstance(value, str) and value == "":
            return None
        if not isinstance(value, str) or not is_valid_id(value):
            raise RowError("MALFORMED_ID", f"{field}: id value of incorrect type: {value}", [field])
        return normalize_id(value)
    if ftype == "int":
        if isinstance(value, bool):
            raise _type_error(field, value)
        if isinstance(value, int):
            return value
        if isinstance(value, float) and value.is_integer():
            return int(value)
        if isinstance(value, str):
            try:
                number = float(value.strip())
            except ValueError:
                raise _type_error(field, value) from None
            if math.isfinite(number) and number.is_integer():
                return int(number)
        raise _type_error(field, value)
    if ftype == "double":
        if isinstance(value, bool):
            raise _type_error(field, value)
        if isinstance(value, (int, float)):
            number = float(value)
        elif isinstance(value, str):
            try:
                number = float(value.strip())
            except ValueError:
                raise _type_error(field, value) from None
        else:
            raise _type_error(field, value)
        if not math.isfinite(number):
            raise _type_error(field, value)
        return number
    if ftype == "boolean":
        if isinstance(value, bool):
            return int(value)
        if isinstance(value, int) and value in (0, 1):
            return value
        if isinstance(value, str) and value.strip().lower() in ("true", "false", "1", "0"):
            return int(value.strip().lower() in ("true", "1"))
        raise _type_error(field, value)
    if ftype == "date":
        if isinstance(value, str):
            try:
                return parse_date(value)
            except ValueError:
                pass
        raise _type_error(field, value)
    if ftype == "datetime":
        if isinstance(value, str):
            try:
                return parse_datetime(value)
            except ValueError:
                pass
        raise _type_error(field, value)
    raise _type_error(field, value)  # pragma: no cover - unknown schema type


def to_json_value(ftype: str, stored: Any) -> Any:
    """The JSON value of a stored value (booleans as true/false, numbers as numbers)."""
    if stored is None:
        return None
    if ftype == "boolean":
        return bool(stored)
    if ftype == "int":
        return int(stored)
    if ftype == "double":
        return float(stored)
    return stored


def prepare_values(
    obj: str,
    record: Mapping[str, Any],
    *,
    allowed_keys: Sequence[str] = (),
) -> dict[str, Any]:
    """Map a client record (a JSON object) to canonical, typed, writable values (the rows of
    a Bulk job's CSV go through ``csv_row_preparer``).

    ``attributes`` is ignored; ``allowed_keys`` (e.g. ``Id`` for updates, the external id of
    an upsert) are skipped instead of rejected. Raises RowError."""
    values: dict[str, Any] = {}
    allowed = {k.lower() for k in allowed_keys}
    for key, raw in record.items():
        if key == "attributes":
            continue
        field = _writable_field(obj, key, allowed)
        if field is not None:
            values[field] = coerce_value(obj, field, raw)
    return values


def _writable_field(obj: str, key: str, allowed: set[str]) -> str | None:
    """The canonical field a client key writes, None for a key in ``allowed`` (lower-case);
    raises RowError for an unknown or read-only field."""
    field = canonical_field(obj, key)
    if field is None:
        raise RowError("INVALID_FIELD", f"No such column '{key}' on sobject of type {obj}", [key])
    if field.lower() in allowed:
        return None
    if field in READ_ONLY_FIELDS:
        raise RowError(
            "INVALID_FIELD_FOR_INSERT_UPDATE",
            f"Unable to create/update fields: {field}. Please check the security settings of "
            "this field and verify that it is read/write for your profile or permission set.",
            [field],
        )
    return field


def csv_row_preparer(
    obj: str, keys: Sequence[str], allowed_keys: Sequence[str] = ()
) -> Callable[[Sequence[str]], dict[str, Any]]:
    """The values of each row of one Bulk job's CSV, whose rows share ``keys`` (the header):
    each key is resolved and checked once, not once per row (a job applies up to 100,000
    rows). Fields are checked as ``prepare_values`` checks them, with the Bulk API's CSV rules:
    an empty cell leaves the field unchanged and ``#N/A`` sets it to null. A row's RowError is
    its first bad column's (an unknown or read-only column fails every row that gets to it)."""
    allowed = {k.lower() for k in allowed_keys}
    steps: list[tuple[int, str, bool] | RowError] = []
    for position, key in enumerate(keys):
        if key == "attributes":
            continue
        try:
            field = _writable_field(obj, key, allowed)
        except RowError as err:
            steps.append(err)  # every row stops at this column: nothing after it matters
            break
        if field is not None:
            steps.append((position, field, field_type(obj, field) == "string"))

    def prepare(row: Sequence[str]) -> dict[str, Any]:
        values: dict[str, Any] = {}
        for step in steps:
            if isinstance(step, RowError):
                raise RowError(step.status_code, step.message, step.fields)
            position, field, is_string = step
            raw = row[position]
            if raw == "":
                continue
            if raw == "#N/A":
                values[field] = None
            elif is_string:  # a CSV cell is already the stored text: coerce_value only checks its length
                if len(raw) > _MAX_STRING:
                    raise _too_long(field)
                values[field] = raw
            else:
                values[field] = coerce_value(obj, field, raw)
        return values

    return prepare


# --------------------------------------------------------------------------------------------
# Connections and schema
# --------------------------------------------------------------------------------------------
def connect(db_path: Path | str) -> sqlite3.Connection:
    """A SQLite connection in autocommit mode (explicit BEGIN), WAL journal, 30 s busy wait."""
    conn = sqlite3.connect(str(db_path), isolation_level=None, check_same_thread=False, timeout=30)
    conn.execute("PRAGMA journal_mode=WAL")
    conn.execute("PRAGMA synchronous=NORMAL")
    conn.execute("PRAGMA busy_timeout=30000")
    return conn


def _object_ddl(obj: str) -> list[str]:
    cols = []
    for field, ftype in crm_schema.OBJECTS[obj].items():
        decl = f"{quote_ident(field)} {_SQL_TYPES[ftype]}"
        if field == "Id":
            decl += " PRIMARY KEY"
        cols.append(decl)
    return [f"CREATE TABLE IF NOT EXISTS {quote_ident(obj)} ({', '.join(cols)})"]


def _index_names(obj: str) -> list[tuple[str, tuple[str, ...]]]:
    """(index name, fields) of the indexes of an object table: (SystemModstamp, Id) serves
    the incremental extract ``WHERE SystemModstamp > ... ORDER BY SystemModstamp, Id`` as a
    covering index; Email serves lookups and upserts by email, an object's External ID field
    (``crm_schema.CREATE_ONCE_KEYS``) the upserts and read-backs by it, a unique combination
    (``crm_schema.UNIQUE_TOGETHER``) the duplicate check of each insert."""
    external = crm_schema.CREATE_ONCE_KEYS.get(obj)
    candidates = [
        ("SystemModstamp", "Id"),
        ("Email",),
        *([(external,)] if external else []),
        *crm_schema.UNIQUE_TOGETHER.get(obj, ()),
    ]
    return [(f"ix_{obj}_{'_'.join(cols)}", cols) for cols in candidates if cols[0] in crm_schema.OBJECTS[obj]]


def _object_indexes(obj: str) -> list[str]:
    return [
        f"CREATE INDEX IF NOT EXISTS {quote_ident(name)} "
        f"ON {quote_ident(obj)} ({', '.join(quote_ident(c) for c in cols)})"
        for name, cols in _index_names(obj)
    ]


_SANDBOX_DDL = [
    "CREATE TABLE IF NOT EXISTS _sandbox_meta (key TEXT PRIMARY KEY, value TEXT)",
    """CREATE TABLE IF NOT EXISTS _bulk_jobs (
        id TEXT PRIMARY KEY, object TEXT NOT NULL, operation TEXT NOT NULL,
        external_id_field TEXT, state TEXT NOT NULL, content_type TEXT NOT NULL,
        line_ending TEXT NOT NULL, column_delimiter TEXT NOT NULL, api_version TEXT NOT NULL,
        created_date TEXT NOT NULL, system_modstamp TEXT NOT NULL,
        records_processed INTEGER NOT NULL DEFAULT 0, records_failed INTEGER NOT NULL DEFAULT 0,
        processing_ms INTEGER NOT NULL DEFAULT 0, error_message TEXT)""",
    """CREATE TABLE IF NOT EXISTS _bulk_job_data (
        job_id TEXT NOT NULL, seq INTEGER NOT NULL, data BLOB NOT NULL,
        PRIMARY KEY (job_id, seq))""",
    """CREATE TABLE IF NOT EXISTS _bulk_job_results (
        job_id TEXT NOT NULL, line INTEGER NOT NULL, sf_id TEXT, created INTEGER,
        error TEXT, row_json TEXT NOT NULL, PRIMARY KEY (job_id, line))""",
    # Every record write, in order: the audit tests use to prove nothing is written twice.
    """CREATE TABLE IF NOT EXISTS _write_log (
        seq INTEGER PRIMARY KEY AUTOINCREMENT, object TEXT NOT NULL, record_id TEXT NOT NULL,
        op TEXT NOT NULL, values_json TEXT NOT NULL, written_at TEXT NOT NULL)""",
    """CREATE TABLE IF NOT EXISTS _api_usage (
        day TEXT NOT NULL, kind TEXT NOT NULL, calls INTEGER NOT NULL,
        PRIMARY KEY (day, kind))""",
    # Every deletion (soft, hard, a merge's losers with their master), as Salesforce's delete
    # log: what getDeleted answers from, whether or not the row is still in the table.
    """CREATE TABLE IF NOT EXISTS _delete_log (
        object TEXT NOT NULL, record_id TEXT NOT NULL, deleted_date TEXT NOT NULL,
        master_record_id TEXT, PRIMARY KEY (object, record_id, deleted_date))""",
    "CREATE INDEX IF NOT EXISTS ix_delete_log_date ON _delete_log (object, deleted_date)",
]


def ensure_schema(conn: sqlite3.Connection) -> None:
    """Create every object table, index and sandbox table that does not exist yet."""
    for obj in crm_schema.OBJECTS:
        for stmt in _object_ddl(obj):
            conn.execute(stmt)
        # a field added to crm_schema since this sandbox was made: an empty column (before the
        # indexes, which may be on it)
        have = {row[1] for row in conn.execute(f"PRAGMA table_info({quote_ident(obj)})")}
        for field, ftype in crm_schema.OBJECTS[obj].items():
            if field not in have:
                conn.execute(
                    f"ALTER TABLE {quote_ident(obj)} ADD COLUMN {quote_ident(field)} {_SQL_TYPES[ftype]}"
                )
        for stmt in _object_indexes(obj):
            conn.execute(stmt)
    for stmt in _SANDBOX_DDL:
        conn.execute(stmt)
    conn.execute(
        "INSERT OR REPLACE INTO _sandbox_meta (key, value) VALUES ('schema_version', ?)",
        (SCHEMA_VERSION,),
    )


def query_sql(db_path: Path | str, sql: str, params: Sequence[Any] = ()) -> list[tuple]:
    """Run one SQL statement against the sandbox database and return all rows (for tests)."""
    conn = sqlite3.connect(str(db_path), timeout=30)
    try:
        return conn.execute(sql, tuple(params)).fetchall()
    finally:
        conn.close()


# --------------------------------------------------------------------------------------------
# The parquet loader
# --------------------------------------------------------------------------------------------
def _duckdb_select_expr(field: str, ftype: str, source_type: str) -> str:
    col = '"' + field.replace('"', '""') + '"'
    src = source_type.upper()
    if ftype == "datetime":
        if src.startswith("TIMESTAMP") or src == "DATE":
            return f"strftime(CAST({col} AS TIMESTAMP), '%Y-%m-%dT%H:%M:%S.%g+0000')"
        return f"CAST({col} AS VARCHAR)"  # normalised in Python
    if ftype == "date":
        if src.startswith("TIMESTAMP") or src == "DATE":
            return f"strftime(CAST({col} AS DATE), '%Y-%m-%d')"
        return f"CAST({col} AS VARCHAR)"
    if ftype == "boolean":
        if src == "BOOLEAN" or src in ("TINYINT", "SMALLINT", "INTEGER", "BIGINT"):
            return f"CAST(CAST({col} AS BOOLEAN) AS INTEGER)"
        return (
            f"CASE lower(CAST({col} AS VARCHAR)) WHEN 'true' THEN 1 WHEN '1' THEN 1 "
            f"WHEN 'false' THEN 0 WHEN '0' THEN 0 END"
        )
    if ftype == "int":
        return f"CAST({col} AS BIGINT)"
    if ftype == "double":
        return f"CASE WHEN isfinite(CAST({col} AS DOUBLE)) THEN CAST({col} AS DOUBLE) END"
    return f"CAST({col} AS VARCHAR)"


def load_parquet_dir(db_path: Path, parquet_dir: Path, replace: bool = True) -> dict[str, int]:
    """Create the schema and load ``<parquet_dir>/<Object>.parquet`` for each object present.

    Columns are matched to the object's fields case-insensitively; fields without a column
    are null, except the audit fields Salesforce always fills: ``IsDeleted`` defaults to
    false, ``CreatedDate``/``LastModifiedDate``/``SystemModstamp`` to each other or to the
    load time, and a missing ``Id`` is generated. With ``replace`` (the default) the loaded
    objects' tables are emptied first; otherwise rows are upserted by Id. Returns the number
    of rows loaded per object. Uses one transaction, WAL, ``synchronous=OFF`` during the
    load and builds the indexes after the rows are in.
    """
    import duckdb  # noqa: PLC0415 - heavy import, only needed here

    db_path = Path(db_path)
    parquet_dir = Path(parquet_dir)
    if not parquet_dir.is_dir():
        raise FileNotFoundError(f"parquet directory not found: {parquet_dir}")
    db_path.parent.mkdir(parents=True, exist_ok=True)
    files = {
        obj: parquet_dir / f"{obj}.parquet"
        for obj in crm_schema.OBJECTS
        if (parquet_dir / f"{obj}.parquet").exists()
    }
    counts: dict[str, int] = {}
    conn = sqlite3.connect(str(db_path), isolation_level=None, timeout=60)
    duck = duckdb.connect()
    try:
        duck.execute("SET TimeZone='UTC'")
        duck.execute("SET enable_progress_bar=false")
        conn.execute("PRAGMA journal_mode=WAL")
        conn.execute("PRAGMA synchronous=OFF")
        conn.execute("PRAGMA cache_size=-200000")
        conn.execute("BEGIN IMMEDIATE")
        ensure_schema(conn)
        load_stamp = now_stamp()
        for obj, path in files.items():
            counts[obj] = _load_object(conn, duck, obj, path, replace, load_stamp)
        conn.execute("COMMIT")
    except BaseException:
        if conn.in_transaction:
            conn.execute("ROLLBACK")
        raise
    finally:
        duck.close()
        conn.execute("PRAGMA synchronous=NORMAL")
        conn.close()
    return counts


def _load_object(
    conn: sqlite3.Connection, duck: Any, obj: str, path: Path, replace: bool, load_stamp: str
) -> int:
    schema = crm_schema.OBJECTS[obj]
    path_sql = "'" + str(path).replace("'", "''") + "'"
    described = duck.execute(f"DESCRIBE SELECT * FROM read_parquet({path_sql})").fetchall()
    source_types = {row[0]: row[1] for row in described}
    by_lower = {name.lower(): name for name in source_types}
    present: list[tuple[str, str]] = []  # (canonical field, source column)
    for field in schema:
        source = by_lower.get(field.lower())
        if source is not None:
            present.append((field, source))
    exprs = []
    for field, source in present:
        expr = _duckdb_select_expr(source, schema[field], source_types[source])
        exprs.append(f"{expr} AS {quote_ident(field)}")
    if not exprs:
        raise ValueError(f"{path}: no column matches a field of {obj}")
    fields = [f for f, _ in present]
    id_fix = [i for i, f in enumerate(fields) if schema[f] == "id"]
    python_fix = [
        i
        for i, (f, s) in enumerate(present)
        if schema[f] in ("datetime", "date") and "VARCHAR" in source_types[s].upper()
    ]

    # Audit defaults, applied in Python per row (cheap: tuples are rebuilt anyway for fixes).
    extra_fields = [f for f in schema if f not in fields and f in _AUDIT_DEFAULT_ORDER]
    need_id = "Id" not in fields
    all_fields = fields + extra_fields + (["Id"] if need_id else [])
    pos = {f: i for i, f in enumerate(all_fields)}

    table = quote_ident(obj)
    for name, _field in _index_names(obj):
        conn.execute(f"DROP INDEX IF EXISTS {quote_ident(name)}")
    if replace:
        conn.execute(f"DELETE FROM {table}")
        conn.execute("DELETE FROM _delete_log WHERE object = ?", (obj,))
    placeholders = ", ".join("?" for _ in all_fields)
    insert = (
        f"INSERT OR REPLACE INTO {table} ({', '.join(quote_ident(f) for f in all_fields)}) "
        f"VALUES ({placeholders})"
    )
    result = duck.execute(f"SELECT {', '.join(exprs)} FROM read_parquet({path_sql})")
    total = 0
    while True:
        chunk = result.fetchmany(50_000)
        if not chunk:
            break
        chunk = [
            _fix_row(obj, list(row), fields, python_fix, id_fix, extra_fields, need_id, pos, load_stamp)
            for row in chunk
        ]
        conn.executemany(insert, chunk)
        total += len(chunk)
    for stmt in _object_indexes(obj):
        conn.execute(stmt)
    if crm_schema.has_soft_delete(obj):  # rows loaded deleted are in the recycle bin: logged
        conn.execute(
            "INSERT OR IGNORE INTO _delete_log (object, record_id, deleted_date) "
            f'SELECT ?, "Id", "SystemModstamp" FROM {table} WHERE "IsDeleted" = 1',
            (obj,),
        )
    return total


_AUDIT_DEFAULT_ORDER = ("IsDeleted", "CreatedDate", "LastModifiedDate", "SystemModstamp")


def _fix_row(
    obj: str,
    row: list[Any],
    fields: list[str],
    python_fix: list[int],
    id_fix: list[int],
    extra_fields: list[str],
    need_id: bool,
    pos: dict[str, int],
    load_stamp: str,
) -> tuple:
    for i in python_fix:
        value = row[i]
        if value is not None and value != "":
            field = fields[i]
            try:
                if field_type(obj, field) == "datetime":
                    row[i] = parse_datetime(value.replace(" ", "T", 1))
                else:
                    row[i] = parse_date(value[:10])
            except ValueError:
                raise ValueError(
                    f"{obj}.{field}: cannot read {value!r} as a {field_type(obj, field)}"
                ) from None
        else:
            row[i] = None
    for i in id_fix:
        value = row[i]
        if value is not None and len(value) == 15:
            row[i] = id18(value)
        elif value == "":
            row[i] = None
    row.extend([None] * len(extra_fields))
    if need_id:
        row.append(new_id(obj))
    elif row[pos["Id"]] is None:
        row[pos["Id"]] = new_id(obj)
    if "IsDeleted" in pos and row[pos["IsDeleted"]] is None:
        row[pos["IsDeleted"]] = 0
    if "CreatedDate" in pos:
        created = row[pos["CreatedDate"]]
        modified = row[pos["LastModifiedDate"]] if "LastModifiedDate" in pos else None
        stamp = row[pos["SystemModstamp"]] if "SystemModstamp" in pos else None
        created = created or modified or stamp or load_stamp
        row[pos["CreatedDate"]] = created
        if "LastModifiedDate" in pos:
            row[pos["LastModifiedDate"]] = modified = modified or created
        if "SystemModstamp" in pos:
            row[pos["SystemModstamp"]] = stamp or modified or created
    return tuple(row)


# --------------------------------------------------------------------------------------------
# The live store used by the server
# --------------------------------------------------------------------------------------------
class Store:
    """Connections to the sandbox database: a pool of readers and one serialised writer."""

    def __init__(self, db_path: Path | str, pool_size: int = 8) -> None:
        self.db_path = Path(db_path)
        self.db_path.parent.mkdir(parents=True, exist_ok=True)
        self._write_lock = threading.RLock()
        self._writer = connect(self.db_path)
        ensure_schema(self._writer)
        self._pool: queue.LifoQueue[sqlite3.Connection] = queue.LifoQueue()
        self._pool_size = pool_size
        self._created = 0
        self._pool_lock = threading.Lock()

    def close(self) -> None:
        """Close every connection."""
        with self._write_lock:
            self._writer.close()
        while True:
            try:
                self._pool.get_nowait().close()
            except queue.Empty:
                break

    @contextmanager
    def read(self) -> Iterator[sqlite3.Connection]:
        """A pooled read connection (WAL readers see the last committed state)."""
        try:
            conn = self._pool.get_nowait()
        except queue.Empty:
            conn = connect(self.db_path)
        try:
            yield conn
        finally:
            if conn.in_transaction:
                conn.execute("ROLLBACK")
            if self._pool.qsize() < self._pool_size:
                self._pool.put(conn)
            else:
                conn.close()

    @contextmanager
    def write(self) -> Iterator[sqlite3.Connection]:
        """The writer connection inside one transaction (committed on success)."""
        with self._write_lock:
            conn = self._writer
            conn.execute("BEGIN IMMEDIATE")
            try:
                yield conn
            except BaseException:
                conn.execute("ROLLBACK")
                raise
            conn.execute("COMMIT")


# --------------------------------------------------------------------------------------------
# Record operations (call inside Store.write(); each raises RowError on a per-row problem)
# --------------------------------------------------------------------------------------------
def _check_id(obj: str, record_id: Any) -> str:
    if not isinstance(record_id, str) or not is_valid_id(record_id):
        raise RowError("MALFORMED_ID", f"Id: malformed id {record_id}", ["Id"])
    full = normalize_id(record_id)
    if object_for_id(full) != obj:
        raise RowError("INVALID_CROSS_REFERENCE_KEY", f"invalid cross reference id: {record_id}", ["Id"])
    return full


def _row_state(conn: sqlite3.Connection, obj: str, record_id: str) -> int | None:
    """None if absent, else the IsDeleted flag (0 for objects without soft delete)."""
    if crm_schema.has_soft_delete(obj):
        row = conn.execute(
            f'SELECT "IsDeleted" FROM {quote_ident(obj)} WHERE "Id" = ?', (record_id,)
        ).fetchone()
        return None if row is None else int(row[0] or 0)
    row = conn.execute(f'SELECT 1 FROM {quote_ident(obj)} WHERE "Id" = ?', (record_id,)).fetchone()
    return None if row is None else 0


def _missing(record_id: str, state: int | None) -> RowError:
    if state is None:
        return RowError("INVALID_CROSS_REFERENCE_KEY", f"invalid cross reference id: {record_id}", ["Id"])
    return RowError("ENTITY_IS_DELETED", "entity is deleted", [])


def _log_write(
    conn: sqlite3.Connection, obj: str, record_id: str, op: str, values: Mapping[str, Any], stamp: str
) -> None:
    conn.execute(
        "INSERT INTO _write_log (object, record_id, op, values_json, written_at) VALUES (?, ?, ?, ?, ?)",
        (obj, record_id, op, json.dumps(dict(values), sort_keys=True, default=str), stamp),
    )


def _check_unique(conn: sqlite3.Connection, obj: str, row: Mapping[str, Any]) -> None:
    """Refuse a record whose fields repeat a live record's unique combination
    (``crm_schema.UNIQUE_TOGETHER``: one CampaignMember per Campaign and Lead or Contact), as
    Salesforce does: ``DUPLICATE_VALUE``, naming the record it would duplicate."""
    for fields in crm_schema.UNIQUE_TOGETHER.get(obj, ()):
        if any(row.get(f) is None for f in fields):
            continue
        where = " AND ".join(f"{quote_ident(f)} = ?" for f in fields)
        if crm_schema.has_soft_delete(obj):
            where += ' AND "IsDeleted" = 0'
        found = conn.execute(
            f'SELECT "Id" FROM {quote_ident(obj)} WHERE {where} LIMIT 1', [row[f] for f in fields]
        ).fetchone()
        if found is not None:
            raise RowError(
                "DUPLICATE_VALUE",
                f"Already a campaign member: duplicate value found: {' + '.join(fields)} duplicates "
                f"value on record with id: {found[0]}",
                list(fields),
            )


def insert_row(conn: sqlite3.Connection, obj: str, values: Mapping[str, Any]) -> str:
    """Insert a record (values already prepared) and return its new Id; a record repeating a
    unique combination of fields (``crm_schema.UNIQUE_TOGETHER``) is ``DUPLICATE_VALUE``."""
    _check_unique(conn, obj, values)
    record_id = new_id(obj)
    stamp = now_stamp()
    row = dict(values)
    row["Id"] = record_id
    for field in ("CreatedDate", "LastModifiedDate", "SystemModstamp"):
        if field in crm_schema.OBJECTS[obj]:
            row[field] = stamp
    if crm_schema.has_soft_delete(obj):
        row["IsDeleted"] = 0
    conn.execute(_insert_sql(obj, tuple(row)), list(row.values()))
    _log_write(conn, obj, record_id, "insert", values, stamp)
    return record_id


@functools.lru_cache(maxsize=1024)
def _insert_sql(obj: str, columns: tuple[str, ...]) -> str:
    """The INSERT of these columns (cached: a Bulk job's rows share a few column sets)."""
    return (
        f"INSERT INTO {quote_ident(obj)} ({', '.join(quote_ident(c) for c in columns)}) "
        f"VALUES ({', '.join('?' for _ in columns)})"
    )


@functools.lru_cache(maxsize=1024)
def _update_sql(obj: str, columns: tuple[str, ...]) -> str:
    """The UPDATE of these columns of one live record by Id (cached like ``_insert_sql``)."""
    sets = ", ".join(f"{quote_ident(c)} = ?" for c in columns)
    where = '"Id" = ?' + (' AND "IsDeleted" = 0' if crm_schema.has_soft_delete(obj) else "")
    return f"UPDATE {quote_ident(obj)} SET {sets} WHERE {where}"


def update_row(conn: sqlite3.Connection, obj: str, record_id: Any, values: Mapping[str, Any]) -> str:
    """Update a live record's fields and its modification stamps; returns the 18-char Id."""
    full = _check_id(obj, record_id)
    stamp = now_stamp()
    row = dict(values)
    row["LastModifiedDate"] = stamp
    row["SystemModstamp"] = stamp
    cur = conn.execute(_update_sql(obj, tuple(row)), [*row.values(), full])
    if cur.rowcount == 0:
        raise _missing(record_id, _row_state(conn, obj, full))
    _log_write(conn, obj, full, "update", values, stamp)
    return full


def delete_row(
    conn: sqlite3.Connection, obj: str, record_id: Any, hard: bool = False, master_id: str | None = None
) -> str:
    """Soft-delete a live record (IsDeleted = true, new stamps: it stays visible to queryAll);
    ``hard`` removes the row (queryAll no longer sees it). Either way the deletion goes to the
    delete log (``master_id``: the record a merge kept); a record already soft-deleted was
    logged then, so hard-deleting it (emptying the recycle bin) adds nothing."""
    full = _check_id(obj, record_id)
    if not crm_schema.has_soft_delete(obj):
        raise RowError("DELETE_FAILED", f"{obj} records cannot be deleted", [])
    if hard:
        state = _row_state(conn, obj, full)
        cur = conn.execute(f'DELETE FROM {quote_ident(obj)} WHERE "Id" = ?', (full,))
        if cur.rowcount == 0:
            raise _missing(record_id, None)
        if state == 0:
            _log_deletion(conn, obj, full, now_stamp(), master_id)
        return full
    stamp = now_stamp()
    cur = conn.execute(
        f'UPDATE {quote_ident(obj)} SET "IsDeleted" = 1, "LastModifiedDate" = ?, '
        f'"SystemModstamp" = ? WHERE "Id" = ? AND "IsDeleted" = 0',
        (stamp, stamp, full),
    )
    if cur.rowcount == 0:
        raise _missing(record_id, _row_state(conn, obj, full))
    _log_deletion(conn, obj, full, stamp, master_id)
    return full


def _log_deletion(
    conn: sqlite3.Connection, obj: str, record_id: str, stamp: str, master_id: str | None
) -> None:
    conn.execute(
        "INSERT OR IGNORE INTO _delete_log (object, record_id, deleted_date, master_record_id) "
        "VALUES (?, ?, ?, ?)",
        (obj, record_id, stamp, master_id),
    )


DELETE_LOG_PURGE_KEY = "delete_log_purged_before"


def deleted_between(conn: sqlite3.Connection, obj: str, start: str, end: str) -> list[tuple[str, str]]:
    """(Id, deletedDate) of the ``obj`` deletions logged in [start, end) (stored format),
    oldest first."""
    return conn.execute(
        "SELECT record_id, deleted_date FROM _delete_log WHERE object = ? AND deleted_date >= ? "
        "AND deleted_date < ? ORDER BY deleted_date, record_id",
        (obj, start, end),
    ).fetchall()


def delete_log_purged_before(conn: sqlite3.Connection) -> str | None:
    """The instant before which the delete log was emptied (stored format), or None."""
    row = conn.execute("SELECT value FROM _sandbox_meta WHERE key = ?", (DELETE_LOG_PURGE_KEY,)).fetchone()
    return row[0] if row else None


def purge_delete_log(conn: sqlite3.Connection, before: str) -> int:
    """Forget the deletions logged before ``before`` (stored format), as Salesforce's purge of
    its delete log does; getDeleted then refuses a start before it. Returns the entries removed."""
    removed = conn.execute("DELETE FROM _delete_log WHERE deleted_date < ?", (before,)).rowcount
    mark = max(before, delete_log_purged_before(conn) or before)
    conn.execute(
        "INSERT OR REPLACE INTO _sandbox_meta (key, value) VALUES (?, ?)", (DELETE_LOG_PURGE_KEY, mark)
    )
    return removed


def find_ids_by_field(conn: sqlite3.Connection, obj: str, field: str, value: Any) -> list[str]:
    """Ids of the live records whose ``field`` equals ``value`` (external id matching)."""
    where = f"{quote_ident(field)} = ?"
    if crm_schema.has_soft_delete(obj):
        where += ' AND "IsDeleted" = 0'
    rows = conn.execute(f'SELECT "Id" FROM {quote_ident(obj)} WHERE {where} LIMIT 2', (value,)).fetchall()
    return [r[0] for r in rows]


def upsert_row(
    conn: sqlite3.Connection, obj: str, ext_field: str, ext_value: Any, values: Mapping[str, Any]
) -> tuple[str, bool]:
    """Update the record whose ``ext_field`` equals ``ext_value`` or insert a new one.

    Returns (Id, created). More than one match is ``DUPLICATE_EXTERNAL_ID``."""
    if ext_value is None or ext_value == "":
        raise RowError("MISSING_ARGUMENT", f"{ext_field} not specified", [ext_field])
    if ext_field == "Id":
        return update_row(conn, obj, ext_value, values), False
    key = coerce_value(obj, ext_field, ext_value)
    matches = find_ids_by_field(conn, obj, ext_field, key)
    if len(matches) > 1:
        raise RowError(
            "DUPLICATE_EXTERNAL_ID",
            f"{ext_field}: more than one record found for external id field: {matches}",
            [ext_field],
        )
    if matches:
        return update_row(conn, obj, matches[0], values), False
    row = dict(values)
    row[ext_field] = key
    return insert_row(conn, obj, row), True


def get_row(
    conn: sqlite3.Connection, obj: str, record_id: str, fields: Sequence[str] | None = None
) -> dict[str, Any] | None:
    """A record's stored values as JSON values (all fields by default), or None."""
    fields = list(fields or crm_schema.OBJECTS[obj])
    row = conn.execute(
        f'SELECT {", ".join(quote_ident(f) for f in fields)} FROM {quote_ident(obj)} WHERE "Id" = ?',
        (normalize_id(record_id),),
    ).fetchone()
    if row is None:
        return None
    return {f: to_json_value(field_type(obj, f), v) for f, v in zip(fields, row, strict=True)}


def fetch_by_rowids(
    conn: sqlite3.Connection, obj: str, fields: Sequence[str], rowids: Sequence[int]
) -> list[tuple[str, list[Any]]]:
    """(Id, JSON values of ``fields``) for each rowid, in the given order (vanished rows are
    skipped)."""
    if not rowids:
        return []
    cols = ", ".join(quote_ident(f) for f in fields)
    placeholders = ", ".join("?" for _ in rowids)
    rows = conn.execute(
        f'SELECT rowid, "Id", {cols} FROM {quote_ident(obj)} WHERE rowid IN ({placeholders})',
        list(rowids),
    ).fetchall()
    by_rowid = {r[0]: r for r in rows}
    # SQLite already returns int/float/str; only booleans (stored 0/1) need converting.
    bool_idx = [i for i, f in enumerate(fields) if field_type(obj, f) == "boolean"]
    out = []
    for rid in rowids:
        row = by_rowid.get(rid)
        if row is None:
            continue
        values = list(row[2:])
        for i in bool_idx:
            if values[i] is not None:
                values[i] = bool(values[i])
        out.append((row[1], values))
    return out
