"""The fast lane's narrow build, around dbt (lead_scoring.fast_lane): when it may run, and how
its rows replace the hourly ones. The build itself runs end to end in
tests/e2e/test_fast_lane.py."""

from __future__ import annotations

import duckdb
import pytest

from lead_scoring import fast_lane, warehouse


def hourly_tables(con, skip: str | None = None) -> None:
    """Every table the narrow build needs, as an hourly run leaves them: each MERGED table with
    its key column and a value column, the two ledgers and the hour's capacity."""
    for schema in ("marts", "intermediate"):
        con.execute(f"create schema if not exists {schema}")
    for table, (column, _) in fast_lane.MERGED.items():
        if table != skip:
            con.execute(f"create table marts.{table} ({column} varchar, value integer)")
    for schema, table in [
        ("marts", "lead_score_history"),
        ("marts", "lead_assignments"),
        fast_lane.HOURLY_ONLY,
    ]:
        if table != skip:
            con.execute(f"create table {schema}.{table} (crm_id varchar)")


def test_the_narrow_build_waits_for_an_hourly_run_to_build_its_tables(tmp_path):
    with warehouse.connect(tmp_path / "w.duckdb") as con:
        assert not fast_lane.narrow_ready(con)  # a new warehouse: the whole graph
        hourly_tables(con, skip="lead_assignments")
        assert not fast_lane.narrow_ready(con)
        con.execute("create table marts.lead_assignments (crm_id varchar)")
        assert fast_lane.narrow_ready(con)


def narrow_rows(con) -> None:
    """A narrow build that scored P1 and P2 (P3 was read, not scored) at Account A1."""
    for schema in fast_lane.NARROW_SCHEMAS:
        con.execute(f"create schema {schema}")
    con.execute(
        "create table fast_intermediate.int_fast_lane_scope as select * from (values "
        "('P1', 'scored'), ('P2', 'scored'), ('P1', 'context'), ('P2', 'context'), ('P3', 'context'), "
        "('A1', 'account')) as t(crm_id, scope)"
    )
    for table, (column, scope) in fast_lane.MERGED.items():
        # the hourly rows: the scored P1, P2 (P2 no longer in the narrow build's table), the
        # context-only P3, someone else P4 and the Accounts A1, A2
        ids = ("P1", "P2", "P3", "P4", "A1", "A2")
        con.executemany(f"insert into marts.{table} values (?, 1)", [[i] for i in ids])
        # the narrow build's rows, columns in another order: 2 for the scope, 3 outside it
        kept = "('P1', 2), ('P3', 3)" if scope == "scored" else "('A1', 2), ('A2', 3)"
        con.execute(f"create table fast_marts.{table} as select * from (values {kept}) as t({column}, value)")
        con.execute(
            f"create or replace table fast_marts.{table} as select value, {column} from fast_marts.{table}"
        )


def test_the_narrow_rows_replace_only_their_scope(tmp_path):
    with warehouse.connect(tmp_path / "w.duckdb") as con:
        hourly_tables(con)
        narrow_rows(con)
        written = fast_lane.merge(con)
        assert written == len(fast_lane.MERGED)
        scored = sorted(con.execute("select crm_id, value from marts.lead_scores").fetchall())
        # P1 replaced, P2 gone with the narrow build, P3 (context only) and P4 as the hour left them
        assert scored == [("A1", 1), ("A2", 1), ("P1", 2), ("P3", 1), ("P4", 1)]
        accounts = sorted(con.execute("select account_id, value from marts.account_scores").fetchall())
        assert accounts == [("A1", 2), ("A2", 1), ("P1", 1), ("P2", 1), ("P3", 1), ("P4", 1)]


def test_a_failing_table_leaves_every_hourly_table_as_it_was(tmp_path):
    with warehouse.connect(tmp_path / "w.duckdb") as con:
        hourly_tables(con)
        narrow_rows(con)
        # the last table fails while its rows are inserted
        con.execute(
            "create or replace table fast_marts.sync_salesforce__tasks as select 'P1' as WhoId, 'x' as value"
        )
        before = con.execute("select crm_id, value from marts.lead_scores order by crm_id").fetchall()
        with pytest.raises(duckdb.ConversionException):
            fast_lane.merge(con)
        assert con.execute("select crm_id, value from marts.lead_scores order by crm_id").fetchall() == before


def test_an_hourly_table_of_other_columns_stops_the_merge_before_any_write(tmp_path):
    from lead_scoring.failures import failure_hint

    with warehouse.connect(tmp_path / "w.duckdb") as con:
        hourly_tables(con)
        narrow_rows(con)
        con.execute("alter table fast_marts.lead_sla add column sla_paused boolean")
        before = con.execute("select crm_id, value from marts.lead_scores order by crm_id").fetchall()
        with pytest.raises(fast_lane.NarrowBuildMismatch, match=r"marts.lead_sla .*\(sla_paused\)") as raised:
            fast_lane.merge(con)
        assert "hourly run" in failure_hint(raised.value)
        assert con.execute("select crm_id, value from marts.lead_scores order by crm_id").fetchall() == before
