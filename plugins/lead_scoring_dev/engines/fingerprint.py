"""A fingerprint of every dbt model an engine built, to prove two engines computed the same.

One query per model (``select *`` of the table or view; seeds are inputs, not compared),
then the statistics are computed here, in Python, the same way for every engine, so the
checker has no SQL dialect of its own to get wrong and float sums do not depend on the
engine's row order:

- the row count and the column names with their type family;
- per column: the non-NULL count; numbers: exact sum (``math.fsum``), min and max;
  integers, text, booleans, dates and timestamps: the distinct count and a digest of the
  sorted values (the column's whole content); text: the total length; booleans: the count
  of true; dates and timestamps: min and max;
- for text and integer columns with at most ``LOW_CARDINALITY`` distinct values (tier,
  tier_label, grade, crm_object, ...): the count of rows per value;
- when a ``crm_id``/``id``/``person_id``/``*_id`` column is a unique, non-NULL key: the
  whole rows of the ``SAMPLE_SIZE`` smallest keys (on lead_scores: every score, the
  score_reasons text and the scoring_model_version).

Values are normalised first: timestamps as ISO strings in UTC, booleans as true/false, NULL
as None, column names lower-cased (Postgres folds unquoted ``Id`` to ``id``). Numbers
compare with a relative tolerance of ``TOLERANCE`` (1e-9): engines' ``pow`` may differ in
the last bit, while a real difference (a 4-byte float, integer division, another rounding
rule) is far larger. ``diff`` names the model, the column and the statistic.

The check reads every row, which suits its fixture (a few thousand rows per model), not a
production warehouse.
"""

from __future__ import annotations

import hashlib
import json
import math
from collections import Counter
from collections.abc import Iterable
from dataclasses import dataclass
from datetime import date, datetime, timezone
from decimal import Decimal
from pathlib import Path
from typing import Any, Protocol

LOW_CARDINALITY = 20
SAMPLE_SIZE = 20
TOLERANCE = 1e-9
KEY_PREFERENCE = ("crm_id", "id", "person_id")


class MismatchError(AssertionError):
    """Two engines' fingerprints differ (or a build failed); the message says where."""


class Engine(Protocol):
    name: str

    def read(self, schema: str, table: str) -> tuple[list[tuple[str, str]], list[tuple]]:
        """``([(column, type name)], rows)`` of ``select * from schema.table``."""
        ...


# ------------------------------------------------------------------------------- engines


class DuckDBEngine:
    name = "duckdb"

    def __init__(self, con) -> None:
        self.con = con

    def read(self, schema: str, table: str) -> tuple[list[tuple[str, str]], list[tuple]]:
        columns = self.con.execute(
            "select column_name, data_type from information_schema.columns "
            "where table_schema = ? and table_name = ? order by ordinal_position",
            [schema, table],
        ).fetchall()
        rows = self.con.execute(f'select * from "{schema}"."{table}"').fetchall()
        return columns, rows


class PostgresEngine:
    name = "postgres"

    def __init__(self, con) -> None:
        self.con = con

    def read(self, schema: str, table: str) -> tuple[list[tuple[str, str]], list[tuple]]:
        with self.con.cursor() as cur:
            cur.execute(
                "select column_name, data_type from information_schema.columns "
                "where table_schema = %s and table_name = %s order by ordinal_position",
                (schema, table),
            )
            columns = cur.fetchall()
            cur.execute(f'select * from "{schema}"."{table}"')
            return columns, cur.fetchall()


class SparkEngine:
    name = "spark"

    def __init__(self, spark) -> None:
        self.spark = spark

    def read(self, schema: str, table: str) -> tuple[list[tuple[str, str]], list[tuple]]:
        frame = self.spark.table(f"`{schema}`.`{table}`")
        columns = [(f.name, f.dataType.simpleString()) for f in frame.schema.fields]
        return columns, [tuple(row) for row in frame.collect()]


# -------------------------------------------------------------------------- fingerprint


@dataclass(frozen=True)
class Model:
    name: str
    schema: str
    relation: str  # the table or view name (dbt alias)


def models_from_manifest(manifest_path: Path, only: Iterable[str] | None = None) -> list[Model]:
    """The project's table/view/incremental models in a dbt ``manifest.json`` (``only``: by name)."""
    manifest = json.loads(Path(manifest_path).read_text())
    wanted = set(only) if only is not None else None
    found = []
    for node in manifest["nodes"].values():
        if node["resource_type"] != "model" or node["config"].get("materialized") == "ephemeral":
            continue
        if not node["config"].get("enabled", True) or (wanted is not None and node["name"] not in wanted):
            continue
        found.append(Model(node["name"], node["schema"], node.get("alias") or node["name"]))
    return sorted(found, key=lambda m: m.name)


def kind_of(data_type: str) -> str:
    """integer | float | text | boolean | timestamp | date | other, from any engine's type name."""
    t = data_type.lower()
    if t.startswith(("timestamp", "datetime")):
        return "timestamp"
    if t == "date":
        return "date"
    if t.startswith("bool"):
        return "boolean"
    if t.startswith(("varchar", "text", "string", "character", "char")):
        return "text"
    if t.startswith(("double", "float", "real", "numeric", "decimal")):
        return "float"
    if t.startswith(("int", "bigint", "smallint", "tinyint", "hugeint", "long", "short", "byte")):
        return "integer"
    if t.startswith(("uint", "ubigint", "usmallint", "utinyint", "uhugeint")):
        return "integer"
    return "other"


def normalize(value: Any) -> Any:
    """An engine-independent rendering of one value."""
    if value is None:
        return None
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, int):
        return value
    if isinstance(value, float | Decimal):
        if not math.isfinite(value):
            return str(value)
        if isinstance(value, Decimal) and value == value.to_integral_value():
            return int(value)
        return float(value)
    if isinstance(value, datetime):
        if value.tzinfo is not None:
            value = value.astimezone(timezone.utc).replace(tzinfo=None)
        return value.isoformat(sep="T")
    if isinstance(value, date):
        return value.isoformat()
    return str(value)


def _family(kind: str) -> str:
    # integer vs float legitimately differs (sum(int) is HUGEINT, bigint or numeric)
    return "number" if kind in {"integer", "float"} else kind


def _digest(values: list[Any]) -> str:
    text = "\n".join(sorted(json.dumps(v) for v in values))
    return hashlib.sha256(text.encode()).hexdigest()[:16]


def column_stats(name: str, kind: str, values: list[Any]) -> dict[str, Any]:
    """The statistics of one column's normalised values."""
    present = [v for v in values if v is not None]
    stats: dict[str, Any] = {f"{name}.non_null": len(present)}
    numbers = [v for v in present if isinstance(v, int | float)]
    if kind in {"integer", "float"}:
        exact = all(isinstance(v, int) for v in numbers)
        stats[f"{name}.sum"] = sum(numbers) if exact else math.fsum(numbers)
        stats[f"{name}.min"] = min(numbers, default=None)
        stats[f"{name}.max"] = max(numbers, default=None)
    if kind in {"integer", "text", "boolean", "timestamp", "date"}:
        stats[f"{name}.distinct"] = len(set(present))
        stats[f"{name}.digest"] = _digest(present)
    if kind == "text":
        stats[f"{name}.total_length"] = sum(len(v) for v in present)
    if kind == "boolean":
        stats[f"{name}.true_count"] = sum(1 for v in present if v == "true")
    if kind in {"timestamp", "date"}:
        stats[f"{name}.min"] = min(present, default=None)
        stats[f"{name}.max"] = max(present, default=None)
    if kind in {"text", "integer"} and 0 < stats[f"{name}.distinct"] <= LOW_CARDINALITY:
        counts = Counter("<NULL>" if v is None else str(v) for v in values)
        stats[f"{name}.value_counts"] = dict(sorted(counts.items()))
    return stats


def fingerprint_model(engine: Engine, model: Model) -> dict[str, Any]:
    """The statistics of one model on one engine (keys ``<column>.<statistic>``)."""
    catalog, rows = engine.read(model.schema, model.relation)
    if not catalog:
        raise LookupError(f"{engine.name}: {model.schema}.{model.relation} (model {model.name}) not found")
    names = [name.lower() for name, _ in catalog]
    kinds = [kind_of(data_type) for _, data_type in catalog]
    records = [[normalize(value) for value in row] for row in rows]
    result: dict[str, Any] = {
        "columns": sorted(f"{name}:{_family(kind)}" for name, kind in zip(names, kinds, strict=True)),
        "row_count": len(records),
    }
    for index, (name, kind) in enumerate(zip(names, kinds, strict=True)):
        result.update(column_stats(name, kind, [record[index] for record in records]))

    key = _sample_key(names, kinds, result)
    if key is not None:
        position = names.index(key)
        smallest = sorted(records, key=lambda record: record[position])[:SAMPLE_SIZE]
        result["sample_key"] = key
        result["sample"] = [dict(zip(names, record, strict=True)) for record in smallest]
    return result


def _sample_key(names: list[str], kinds: list[str], stats: dict[str, Any]) -> str | None:
    rows = stats["row_count"]
    if not rows:
        return None
    candidates = [n for n in KEY_PREFERENCE if n in names]
    candidates += [n for n in names if n.endswith("_id") and n not in candidates]
    for name in candidates:
        kind = kinds[names.index(name)]
        if kind in {"text", "integer"} and stats[f"{name}.distinct"] == rows == stats[f"{name}.non_null"]:
            return name
    return None


def fingerprint(engine: Engine, models: Iterable[Model]) -> dict[str, dict[str, Any]]:
    """``{model name: statistics}`` for every model."""
    return {model.name: fingerprint_model(engine, model) for model in models}


# --------------------------------------------------------------------------------- diff


def _flatten(prefix: str, value: Any, out: dict[str, Any]) -> None:
    if isinstance(value, dict):
        for key, item in value.items():
            _flatten(f"{prefix}.{key}" if prefix else str(key), item, out)
    elif isinstance(value, list) and value and isinstance(value[0], dict):
        for index, item in enumerate(value):
            _flatten(f"{prefix}[{index}]", item, out)
    else:
        out[prefix] = value


def same(a: Any, b: Any) -> bool:
    """Equal; numbers within ``TOLERANCE`` (relative, or absolute near zero)."""
    if isinstance(a, int | float) and isinstance(b, int | float):
        return math.isclose(a, b, rel_tol=TOLERANCE, abs_tol=TOLERANCE)
    return a == b


def diff(reference: dict, other: dict, names: tuple[str, str] = ("reference", "other")) -> list[str]:
    """One line per differing ``model.column.statistic``: ``path: a=... b=...``."""
    flat_a: dict[str, Any] = {}
    flat_b: dict[str, Any] = {}
    _flatten("", reference, flat_a)
    _flatten("", other, flat_b)
    missing = object()
    lines = []
    for path in sorted(set(flat_a) | set(flat_b)):
        a, b = flat_a.get(path, missing), flat_b.get(path, missing)
        if not same(a, b):
            show_a = "<missing>" if a is missing else json.dumps(a)
            show_b = "<missing>" if b is missing else json.dumps(b)
            lines.append(f"{path}: {names[0]}={show_a} {names[1]}={show_b}")
    return lines


def assert_same(fingerprints: dict[str, dict], reference: str = "duckdb", limit: int = 40) -> None:
    """Raise ``MismatchError`` naming every differing model.column.statistic."""
    problems = []
    for engine, printed in fingerprints.items():
        if engine == reference:
            continue
        lines = diff(fingerprints[reference], printed, (reference, engine))
        if lines:
            problems.append(f"{engine} differs from {reference} in {len(lines)} statistics:")
            problems += [f"  {line}" for line in lines[:limit]]
            if len(lines) > limit:
                problems.append(f"  ... and {len(lines) - limit} more")
    if problems:
        raise MismatchError("\n".join(problems))
