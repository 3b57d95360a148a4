"""The benchmark's reference (``reference.sql``: marts.lead_scores' numbers in one DuckDB
query from the raw tables and the seed CSVs) and the row-for-row check of any computed
scores against ``marts.lead_scores``.

The check compares ``crm_id, fit_score, intent_score, negative_score, composite_score, tier``
of every record: a record missing on either side or any differing value is a mismatch.
"""

from __future__ import annotations

import time
from dataclasses import dataclass, field
from datetime import datetime
from pathlib import Path

import duckdb

from lead_scoring import warehouse

REPO = Path(__file__).resolve().parents[3]
SEEDS = REPO / "dbt_project" / "seeds"
SQL = Path(__file__).with_name("reference.sql")
SCORE_COLUMNS = ("fit_score", "intent_score", "negative_score", "composite_score", "tier")


@dataclass
class Comparison:
    """How computed scores compare with marts.lead_scores."""

    rows_dbt: int
    rows_other: int
    mismatches: int
    examples: list[dict] = field(default_factory=list)

    @property
    def equal(self) -> bool:
        return self.mismatches == 0 and self.rows_dbt == self.rows_other

    def as_dict(self) -> dict:
        return {
            "equal": self.equal,
            "rows_dbt": self.rows_dbt,
            "rows_other": self.rows_other,
            "mismatches": self.mismatches,
            "examples": self.examples,
        }


def timestamp_literal(as_of: datetime) -> str:
    return f"timestamp '{as_of:%Y-%m-%d %H:%M:%S.%f}'"


def reference_sql(as_of: datetime, seeds: Path = SEEDS) -> str:
    """reference.sql with its as_of and seeds folder filled in."""
    return SQL.read_text().replace("@AS_OF@", timestamp_literal(as_of)).replace("@SEEDS@", str(seeds))


def configure(con: duckdb.DuckDBPyConnection) -> None:
    """The DuckDB settings dbt's profile gives its connection (2 threads, bounded memory)."""

    warehouse.configure(con)
    con.execute("set preserve_insertion_order = false")


def run_reference(
    con: duckdb.DuckDBPyConnection, as_of: datetime, seeds: Path = SEEDS, table: str = "reference_scores"
) -> float:
    """Compute the reference scores into the temporary table ``table``; returns seconds."""
    sql = reference_sql(as_of, seeds)
    started = time.perf_counter()
    con.execute(f"create or replace temporary table {table} as {sql}")
    return time.perf_counter() - started


def compare_with_dbt(con: duckdb.DuckDBPyConnection, relation: str, examples: int = 5) -> Comparison:
    """Compare ``relation`` (a table or a registered DataFrame with crm_id and the score
    columns) with marts.lead_scores, every row and column."""
    differs = " or ".join(f"dbt.{c} is distinct from other.{c}" for c in SCORE_COLUMNS)
    columns = ", ".join(f"dbt.{c} as dbt_{c}, other.{c} as other_{c}" for c in SCORE_COLUMNS)
    joined = f"""
        from marts.lead_scores as dbt
        full outer join {relation} as other on dbt.crm_id = other.crm_id
        where dbt.crm_id is null or other.crm_id is null or {differs}
    """
    rows_dbt = con.execute("select count(*) from marts.lead_scores").fetchall()[0][0]
    rows_other = con.execute(f"select count(*) from {relation}").fetchall()[0][0]
    mismatches = con.execute(f"select count(*) {joined}").fetchall()[0][0]
    result = con.execute(
        f"select coalesce(dbt.crm_id, other.crm_id) as crm_id, {columns} {joined} order by 1 limit {examples}"
    )
    names = [d[0] for d in result.description]
    sample = [dict(zip(names, row, strict=True)) for row in result.fetchall()]
    return Comparison(rows_dbt, rows_other, mismatches, sample)


def check_reference(warehouse: Path, as_of: datetime) -> tuple[float, Comparison]:
    """Run the reference on ``warehouse`` (which dbt built as of ``as_of``) and compare."""
    con = duckdb.connect(str(warehouse))
    try:
        configure(con)
        seconds = run_reference(con, as_of)
        return seconds, compare_with_dbt(con, "reference_scores")
    finally:
        con.close()
