"""One raw warehouse for every engine: the synthetic generator's world, loaded into DuckDB by
the project's own loader (``pipeline.load_raw`` from Data Loader CSVs and MAP files, no CRM
sandbox), then exported table by table (Parquet for Spark, CSV for Postgres ``COPY``) with
the DuckDB column types, so each engine gets the same rows with the same types.
"""

from __future__ import annotations

import json
from dataclasses import dataclass, replace
from datetime import datetime
from pathlib import Path

import duckdb

from lead_scoring import warehouse
from lead_scoring.config import load_settings
from lead_scoring.pipeline import extract_crm, extract_map, load_raw
from lead_scoring.run_context import RunContext
from lead_scoring_dev.generate.synthetic import SAAS, Profile, generate

# The scoring instant of the check: the hour the generated data ends at.
END = datetime(2026, 11, 1, 10, 0, 0)
RAW_SCHEMAS = ("raw_salesforce", "raw_map")
# The learned points tables dbt reads (source model_store), exported beside the raw tables.
MODEL_TABLES = ("model_versions", "model_points", "model_bin_values")
# The ops tables dbt reads as sources (the model tables; the write-back's ledger, source
# write_back, for rpt_funnel's nurture campaign), exported beside the raw tables.
OPS_SOURCE_TABLES = (*MODEL_TABLES, "crm_actions")
CSV_NULL = r"\N"


@dataclass(frozen=True)
class RawTable:
    """A raw table as ensure_schema created it: columns in order with their DuckDB types."""

    schema: str
    name: str
    columns: tuple[tuple[str, str], ...]

    @property
    def qualified(self) -> str:
        return f"{self.schema}.{self.name}"

    @property
    def stem(self) -> str:
        return f"{self.schema}.{self.name}"


def build(
    root: Path,
    *,
    leads: int = 300,
    days: int = 60,
    seed: int = 3,
    end: datetime = END,
    with_model: bool = False,
    profile: Profile = SAAS,
) -> Path:
    """Generate a small world under ``root``, load it into ``root/fixture.duckdb`` with the
    pipeline's loader and export the raw tables to ``root/export``; returns the export dir.
    ``with_model``: promote FIXTURE_POINTS, so the models score with a points table too."""

    root = Path(root)
    settings = replace(
        load_settings(),
        warehouse=root / "fixture.duckdb",
        landing=root / "landing",
        runs_dir=root / "runs",
        var_dir=root / "var",
        sandbox_dir=root / "var" / "sandbox",
        crm_source="files",
        dry_run=True,
    )
    generate(
        settings.var_dir / "generated",
        settings.landing,
        leads=leads,
        days=days,
        seed=seed,
        end=end,
        crm_files=True,
        profile=profile,
    )
    ctx = RunContext(run_id="engines_fixture", as_of=end, settings=settings)
    loaded = load_raw(ctx, extract_crm(ctx), extract_map(ctx))
    if not loaded["rows_loaded"]:
        raise RuntimeError(f"the fixture loaded no rows from {settings.landing}: {loaded}")
    if with_model:
        with warehouse.connect(settings.warehouse) as con:
            promote_fixture_model(con)
    return export(settings.warehouse, root / "export")


# A small promoted points table, so every engine runs the bin join: a count (absent = 0),
# a number whose absence is the Missing bin, a category with an Unseen bin, a rule score.
FIXTURE_POINTS = [
    # feature, bin_index, bin_label, lower, upper, points, is_categorical, absent_value
    ("events:web_visit:count_30d", 0, "(-inf, 1.00)", None, 1.0, 0.0, False, 0.0),
    ("events:web_visit:count_30d", 1, "[1.00, 4.00)", 1.0, 4.0, 9.5, False, 0.0),
    ("events:web_visit:count_30d", 2, "[4.00, inf)", 4.0, None, 21.25, False, 0.0),
    ("events:web_visit:count_30d", 3, "Special", None, None, 0.0, False, 0.0),
    ("events:web_visit:count_30d", 4, "Missing", None, None, 0.0, False, 0.0),
    ("person:days_since_created", 0, "(-inf, 14.00)", None, 14.0, 12.0, False, None),
    ("person:days_since_created", 1, "[14.00, inf)", 14.0, None, 3.0, False, None),
    ("person:days_since_created", 2, "Special", None, None, 0.0, False, None),
    ("person:days_since_created", 3, "Missing", None, None, 1.0, False, None),
    ("field:industry", 0, "Software, Financial Services", None, None, 30.0, True, None),
    ("field:industry", 1, "Retail", None, None, 6.0, True, None),
    ("field:industry", 2, "Special", None, None, 0.0, True, None),
    ("field:industry", 3, "Missing", None, None, 2.0, True, None),
    ("field:industry", 4, "Unseen", None, None, 4.5, True, None),
    ("rules:fit", 0, "(-inf, 40.00)", None, 40.0, 0.0, False, 0.0),
    ("rules:fit", 1, "[40.00, inf)", 40.0, None, 25.0, False, 0.0),
]
FIXTURE_BIN_VALUES = [
    ("field:industry", 0, "Software"),
    ("field:industry", 0, "Financial Services"),
    ("field:industry", 1, "Retail"),
]


def promote_fixture_model(con: duckdb.DuckDBPyConnection) -> None:
    """Write FIXTURE_POINTS as the promoted version ``m_fixture`` (replacing it)."""
    for table in MODEL_TABLES:
        con.execute(f"delete from ops.{table} where version_id = 'm_fixture'")
    con.execute(
        "insert into ops.model_versions (version_id, trained_at, horizon_days, is_promoted, "
        "calibration_slope, calibration_intercept) values ('m_fixture', ?, 30, true, 0.06, -4.0)",
        [END],
    )
    con.executemany(
        "insert into ops.model_points (version_id, feature, bin_index, bin_label, lower_bound, upper_bound, "
        "points, is_categorical, absent_value) values ('m_fixture', ?, ?, ?, ?, ?, ?, ?, ?)",
        FIXTURE_POINTS,
    )
    con.executemany(
        "insert into ops.model_bin_values (version_id, feature, bin_index, value_text) "
        "values ('m_fixture', ?, ?, ?)",
        FIXTURE_BIN_VALUES,
    )


def raw_tables(con: duckdb.DuckDBPyConnection) -> list[RawTable]:
    """The raw tables (and the model tables) of a DuckDB warehouse with their column names
    and types, in order."""
    rows = con.execute(
        "select schema_name, table_name, column_name, data_type from duckdb_columns() "
        "where schema_name in ('raw_salesforce', 'raw_map') "
        f"or (schema_name = 'ops' and table_name in {OPS_SOURCE_TABLES}) "
        "order by schema_name, table_name, column_index"
    ).fetchall()
    tables: dict[tuple[str, str], list[tuple[str, str]]] = {}
    for schema, table, column, data_type in rows:
        tables.setdefault((schema, table), []).append((column, data_type))
    return [RawTable(schema, name, tuple(columns)) for (schema, name), columns in tables.items()]


def export(warehouse_path: Path, out_dir: Path) -> Path:
    """Write every raw table as ``<schema>.<table>.parquet`` and ``.csv`` (CSV: quoted
    strings, unquoted ``\\N`` for NULL, no header) plus ``tables.json``; returns ``out_dir``."""
    out_dir = Path(out_dir)
    out_dir.mkdir(parents=True, exist_ok=True)
    with warehouse.connect(Path(warehouse_path)) as con:
        tables = raw_tables(con)
        for table in tables:
            base = out_dir / table.stem
            con.execute(f"copy {table.qualified} to '{base}.parquet' (format parquet)")
            con.execute(
                f"copy {table.qualified} to '{base}.csv' "
                f"(format csv, header false, nullstr '{CSV_NULL}', force_quote *)"
            )
        counts = {
            t.qualified: con.execute(f"select count(*) from {t.qualified}").fetchall()[0][0] for t in tables
        }
    manifest = [
        {
            "schema": t.schema,
            "name": t.name,
            "columns": [list(c) for c in t.columns],
            "rows": counts[t.qualified],
        }
        for t in tables
    ]
    (out_dir / "tables.json").write_text(json.dumps(manifest, indent=2) + "\n")
    return out_dir


def read_manifest(export_dir: Path) -> list[RawTable]:
    """The tables an ``export`` wrote."""
    entries = json.loads((Path(export_dir) / "tables.json").read_text())
    return [RawTable(e["schema"], e["name"], tuple(tuple(c) for c in e["columns"])) for e in entries]
