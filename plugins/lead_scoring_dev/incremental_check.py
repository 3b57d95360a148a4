"""Is an incrementally built warehouse equal to a full rebuild at the same ``as_of``?

A copy of the warehouse loses the incremental models and their state
(``intermediate.int_activities_matched_to_people``, ``int_activities_signalled``,
``int_activities_capped`` and their ``__state*`` tables), so dbt builds them whole again,
then ``dbt run`` of the models the scores, routing and SLAs depend on runs on the copy as of
the same instant. Everything else (raw tables, the routing and score ledgers) is the same in
both, so the marts must be equal row for row (docs/incremental.md). The bench
(``incremental_equal_to_full``) and tests/dbt/test_incremental_activities.py use it.
"""

from __future__ import annotations

import os
import shutil
from dataclasses import replace
from datetime import datetime
from pathlib import Path

import duckdb

from lead_scoring.config import Settings
from lead_scoring.dbt_runner import run_dbt

# (schema, model, the state table that says whether its last build was incremental)
INCREMENTAL_MODELS = (
    ("intermediate", "int_activities_matched_to_people", "int_activities_matched_to_people__state_batches"),
    ("intermediate", "int_activities_signalled", "int_activities_signalled__state"),
    ("intermediate", "int_activities_capped", "int_activities_capped__state"),
)
COMPARED = (
    "intermediate.int_activities_matched_to_people",
    "intermediate.int_activities_signalled",
    "intermediate.int_activities_capped",
    "marts.lead_scores",
    "marts.lead_routing",
    "marts.lead_sla",
)
REBUILD = ["run", "--select", "+lead_scores", "+lead_routing", "+lead_sla"]
# Columns that say which build wrote a row, not what the row is: a full rebuild writes every
# row now.
BUILD_COLUMNS = {"intermediate.int_activities_matched_to_people": ("match_build_number",)}


def drop_incremental_state(warehouse: Path) -> list[str]:
    """Drop the incremental models and their state tables; returns what was dropped."""
    con = duckdb.connect(str(warehouse))
    try:
        dropped = []
        for schema, name, _ in INCREMENTAL_MODELS:
            tables = [
                row[0]
                for row in con.execute(
                    "select table_name from information_schema.tables where table_schema = ? "
                    "and (table_name = ? or starts_with(table_name, ?))",
                    [schema, name, f"{name}__state"],
                ).fetchall()
            ]
            for table in tables:
                con.execute(f'drop table "{schema}"."{table}"')
            dropped += tables
        return dropped
    finally:
        con.close()


def was_incremental(warehouse: Path) -> bool | None:
    """Whether the last builds of the incremental models were all incremental (their state
    says so); None without state (a first build, or an engine that always builds them whole)."""
    con = duckdb.connect(str(warehouse), read_only=True)
    try:
        answers = []
        for schema, _, state in INCREMENTAL_MODELS:
            rows = con.execute(
                "select table_name from information_schema.tables where table_schema = ? and table_name = ?",
                [schema, state],
            ).fetchall()
            if not rows:
                return None
            value = con.execute(f'select bool_or(is_incremental_build) from "{schema}"."{state}"')
            answers.append(value.fetchall()[0][0])
        return all(answers)
    finally:
        con.close()


def differences(left: Path, right: Path, tables: tuple[str, ...] = COMPARED) -> dict[str, dict[str, int]]:
    """Per table: its rows in ``left`` and the rows only in one side (``except all``), without
    the ``BUILD_COLUMNS``."""
    con = duckdb.connect()
    try:
        con.execute(f"attach '{left}' as left_side (read_only)")
        con.execute(f"attach '{right}' as right_side (read_only)")
        result = {}
        for table in tables:
            skipped = BUILD_COLUMNS.get(table, ())
            columns = f"* exclude ({', '.join(skipped)})" if skipped else "*"
            only = [
                con.execute(
                    f"select count(*) from (select {columns} from {a}.{table} "
                    f"except all select {columns} from {b}.{table})"
                ).fetchall()[0][0]
                for a, b in (("left_side", "right_side"), ("right_side", "left_side"))
            ]
            rows = con.execute(f"select count(*) from left_side.{table}").fetchall()[0][0]
            result[table] = {"rows": rows, "only_incremental": only[0], "only_full": only[1]}
        return result
    finally:
        con.close()


def equal_to_full(settings: Settings, as_of: datetime, scratch: Path) -> dict:
    """Rebuild a copy of ``settings.warehouse`` without the incremental state as of ``as_of``
    and compare; returns ``{"equal": bool, "tables": differences(...)}``. ``scratch`` is a
    folder for the copy (replaced)."""
    scratch.mkdir(parents=True, exist_ok=True)
    copy = scratch / "full_rebuild.duckdb"
    copy.unlink(missing_ok=True)
    shutil.copyfile(settings.warehouse, copy)
    dropped = drop_incremental_state(copy)
    previous = os.environ.get("LEADSCORE_WAREHOUSE")
    try:
        run_dbt(replace(settings, warehouse=copy), REBUILD, as_of)
    finally:  # run_dbt points the profile's variable at the copy: point it back
        if previous is None:
            os.environ.pop("LEADSCORE_WAREHOUSE", None)
        else:
            os.environ["LEADSCORE_WAREHOUSE"] = previous
    tables = differences(settings.warehouse, copy)
    equal = all(t["only_incremental"] == 0 and t["only_full"] == 0 for t in tables.values())
    return {"equal": equal, "dropped": dropped, "tables": tables}
