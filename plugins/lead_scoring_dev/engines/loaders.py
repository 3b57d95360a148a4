"""Copy the exported raw tables (``fixture.export``) into Postgres or Spark with the same
column types as DuckDB's ``warehouse.ensure_schema``: the dbt sources read identical rows
of identical types on every engine."""

from __future__ import annotations

from pathlib import Path

from lead_scoring_dev.engines.fixture import CSV_NULL, RawTable, read_manifest

# DuckDB type (as duckdb_columns() names it) -> the engine's type.
POSTGRES_TYPES = {
    "VARCHAR": "text",
    "BIGINT": "bigint",
    "INTEGER": "integer",
    "DOUBLE": "double precision",
    "BOOLEAN": "boolean",
    "DATE": "date",
    "TIMESTAMP": "timestamp",
}
SPARK_TYPES = {
    "VARCHAR": "string",
    "BIGINT": "bigint",
    "INTEGER": "int",
    "DOUBLE": "double",
    "BOOLEAN": "boolean",
    "DATE": "date",
    "TIMESTAMP": "timestamp",
}


def _type(mapping: dict[str, str], table: RawTable, column: str, duckdb_type: str) -> str:
    try:
        return mapping[duckdb_type]
    except KeyError:
        raise ValueError(
            f"{table.qualified}.{column}: no mapping for DuckDB type {duckdb_type}; "
            "add it to lead_scoring_dev.engines.loaders"
        ) from None


def load_postgres(con, export_dir: Path) -> list[str]:
    """Create ``raw_*`` schemas and tables in a psycopg2 connection and COPY the CSVs in."""
    loaded = []
    with con.cursor() as cur:
        for table in read_manifest(export_dir):
            columns = ", ".join(f'"{c}" {_type(POSTGRES_TYPES, table, c, t)}' for c, t in table.columns)
            cur.execute(f"create schema if not exists {table.schema}")
            cur.execute(f"drop table if exists {table.qualified}")
            cur.execute(f"create table {table.qualified} ({columns})")
            names = ", ".join(f'"{c}"' for c, _ in table.columns)
            with (Path(export_dir) / f"{table.stem}.csv").open() as handle:
                cur.copy_expert(
                    f"copy {table.qualified} ({names}) from stdin with (format csv, null '{CSV_NULL}')",
                    handle,
                )
            loaded.append(table.qualified)
    return loaded


def load_spark(spark, export_dir: Path) -> list[str]:
    """Create ``raw_*`` databases and Parquet tables in the Spark catalog from the Parquet
    export, each column cast to its declared type (timestamps as UTC wall-clock)."""
    loaded = []
    for table in read_manifest(export_dir):
        spark.sql(f"create database if not exists {table.schema}")
        frame = spark.read.parquet(str(Path(export_dir) / f"{table.stem}.parquet"))
        frame = frame.selectExpr(
            *(f"cast(`{c}` as {_type(SPARK_TYPES, table, c, t)}) as `{c}`" for c, t in table.columns)
        )
        frame.write.mode("overwrite").format("parquet").saveAsTable(table.qualified)
        loaded.append(table.qualified)
    return loaded
