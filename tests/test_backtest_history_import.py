"""History import: Data Loader CSVs (the ``files`` CRM source) + MAP files, loaded by the
pipeline's own loader, are enough for the reports, the win analysis and the backtest
(with a candidate seed folder from the win analysis)."""

from __future__ import annotations

import dataclasses
import os
from datetime import timedelta

import duckdb
import pytest

from lead_scoring.engines import fixture


@pytest.fixture(scope="module")
def imported(tmp_path_factory):
    from lead_scoring.config import load_settings
    from lead_scoring.dbt_runner import run_dbt

    root = tmp_path_factory.mktemp("history_import")
    fixture.build(root, leads=400, days=60, seed=5)
    settings = dataclasses.replace(
        load_settings(), warehouse=root / "fixture.duckdb", var_dir=root / "var", crm_source="files"
    )
    run_dbt(settings, ["build", "--select", "+tag:weekly", "--exclude", "resource_type:test"],
            fixture.END)  # fmt: skip
    return settings


def test_raw_tables_came_from_the_files_source(imported):
    with duckdb.connect(str(imported.warehouse)) as con:
        sources = {r[0] for r in con.execute("select distinct _source from raw_salesforce.lead").fetchall()}
        lift_rows = con.execute("select count(*) from reporting.rpt_icp_attribute_lift").fetchall()[0][0]
    assert sources and all("file" in s.lower() or "csv" in s.lower() for s in sources), sources
    assert lift_rows > 0


def test_backtest_with_a_candidate_from_the_win_analysis(imported, tmp_path):
    from lead_scoring.backtest.candidate import suggested_points, write_candidate_seeds
    from lead_scoring.backtest.run import BacktestConfig, Variant, run_backtest

    changed = write_candidate_seeds(
        imported.dbt_project_dir / "seeds", suggested_points(imported.warehouse), tmp_path / "candidate"
    )
    assert sum(changed.values()) > 0
    config = BacktestConfig(
        days=28,
        step_days=14,
        horizon_days=14,
        candidate=Variant("candidate", seeds_dir=tmp_path / "candidate"),
    )
    warehouse_env = os.environ.get("LEADSCORE_WAREHOUSE")
    summary = run_backtest(imported, config)
    # the scratch warehouse is dbt's for the backtest only: a later task in the same process
    # (render_report under `airflow dags test`) must still see the real one
    assert os.environ.get("LEADSCORE_WAREHOUSE") == warehouse_env
    assert summary["days_scored"] == 3
    assert summary["last_as_of"] == fixture.END.isoformat()
    assert summary["first_as_of"] == (fixture.END - timedelta(days=28)).isoformat()
    for name in ("current", "candidate"):
        variant = summary["variants"][name]
        assert variant["person_days"] > 0
        assert variant["auc"] is None or 0 <= variant["auc"] <= 1
        assert sum(variant["tier_shares"].values()) == pytest.approx(1.0)
    assert summary["current_model_version"] != summary["candidate_model_version"]
    with duckdb.connect(str(imported.warehouse)) as con:
        rows = con.execute(
            "select metric, tier, current_value, candidate_value from reporting.rpt_backtest"
        ).fetchall()
        daily = con.execute("select count(*) from reporting.rpt_backtest_daily").fetchall()[0][0]
    metrics = {(m, t) for m, t, _, _ in rows}
    assert {("auc", None), ("top_decile_lift", None), ("conversion_rate", 1), ("tier_share", 4)} <= metrics
    assert daily == 6  # 3 days x 2 variants
    assert not (imported.var_dir / "backtest").exists() or not any(
        p.name.startswith("bt_") for p in (imported.var_dir / "backtest").iterdir()
    )  # scratch removed


def test_created_versions_make_converted_leads_visible_before_conversion(imported, tmp_path):
    from lead_scoring.backtest import history

    scratch = tmp_path / "scratch" / "lead_scoring.duckdb"
    added = history.prepare(imported.warehouse, scratch)
    assert added["lead"] > 0
    with duckdb.connect(str(scratch)) as con:
        # every converted lead now has a version, stamped at creation, that is not converted
        missing = con.execute(
            """select count(*) from raw_salesforce.lead converted
               where converted.isconverted and not exists (
                 select 1 from raw_salesforce.lead early
                 where early.id = converted.id and early.systemmodstamp = early.createddate
                   and not early.isconverted and early.convertedopportunityid is null)
                 and converted.createddate < converted.systemmodstamp"""
        ).fetchall()[0][0]
    assert missing == 0
