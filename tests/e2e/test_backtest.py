"""History import: Data Loader CSVs (the ``files`` CRM source) + MAP files, loaded by the
pipeline's own loader, are enough for the reports, the win analysis and the backtest
(with a candidate seed folder from the win analysis)."""

from __future__ import annotations

import dataclasses
import os
from datetime import timedelta

import duckdb
import pytest

from lead_scoring_dev.engines import fixture


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


def test_win_analysis_recovers_the_generators_strongest_fit_attributes(imported):
    """The generator's largest single-attribute fit weights (synthetic.py: ICP industry +1.0,
    200-5,000 employees +1.0; its +1.3 goes to a seniority x function combination, diluted
    across both) are in the top five fit values by lift, and nothing it penalises is."""
    with duckdb.connect(str(imported.warehouse)) as con:
        top = con.execute(
            "select attribute_value from reporting.rpt_icp_attribute_lift "
            "where component = 'fit' and people >= 30 order by lift desc limit 5"
        ).fetchall()
    values = {value for (value,) in top}
    assert values & {"software", "financial services", "telecommunications"}, top
    # company size: the employee bands, or revenue, which the generator ties to size
    assert values & {"employees_200_999", "employees_1000_4999", "revenue_100m_1b"}, top
    assert not values & {"employees_1_9", "other", "student", "intern"}, top


def test_suggested_points_change_only_where_the_data_contradicts_them(imported):
    with duckdb.connect(str(imported.warehouse)) as con:
        cursor = con.execute(
            "select rule_id, component, current_points, suggested_points, fit_points_per_log_odds, "
            "excess_log_odds_lower, excess_log_odds_upper, conversion_rate_upper, base_rate, "
            "is_change_suggested from reporting.rpt_icp_attribute_lift "
            "where has_rule and has_enough_people and component in ('fit', 'intent')"
        )
        rows = cursor.fetchall()
    assert {row[1] for row in rows} == {"fit", "intent"}
    for rule, component, current, suggested, rate, lower, upper, rate_upper, base, changed in rows:
        if component == "intent":  # sign check only
            assert suggested == (0 if current > 0 and rate_upper < base else current), rule
        elif lower > 0:  # converts more than its fit score predicts: raise by the lower end
            assert abs(suggested - min(current + lower * rate, 100)) <= 0.5, rule
        elif upper < 0:
            assert abs(suggested - max(current + upper * rate, -100)) <= 0.5, rule
        else:  # the data agrees with the current points: keep them
            assert suggested == current, rule
        assert changed == (suggested != current), rule


def test_backtest_with_a_candidate_from_the_win_analysis(imported, tmp_path):
    from lead_scoring.backtest.candidate import win_analysis_candidate
    from lead_scoring.backtest.run import BacktestConfig, run_backtest

    messages = []
    candidate, end, changed = win_analysis_candidate(
        imported,
        28,
        end=fixture.END,
        folder=tmp_path / "candidate",
        progress=messages.append,
        horizon_days=14,
    )
    # the last scored day is the last whose 14-day outcome is in the data (which ends at END)
    observed = fixture.END - timedelta(days=14)
    assert end == observed
    # fitted on what was known on the first scored day, not on the outcomes it is scored on
    assert f"data known at {observed - timedelta(days=28):%Y-%m-%d %H:%M}" in messages[0]
    assert "in-sample" not in messages[0]
    assert set(changed) == {"fit_rules.csv", "intent_signals.csv"}
    config = BacktestConfig(days=28, step_days=14, horizon_days=14, end=fixture.END, candidate=candidate)
    warehouse_env = os.environ.get("LEADSCORE_WAREHOUSE")
    messages.clear()
    summary = run_backtest(imported, config, progress=messages.append)
    assert "not observed yet" in messages[0] and f"{observed:%Y-%m-%d %H:%M}" in messages[0]
    # the scratch warehouse is dbt's for the backtest only: a later task in the same process
    # (render_report under `airflow dags test`) must still see the real one
    assert os.environ.get("LEADSCORE_WAREHOUSE") == warehouse_env
    assert summary["days_scored"] == 3
    assert summary["last_as_of"] == observed.isoformat()
    assert summary["first_as_of"] == (observed - timedelta(days=28)).isoformat()
    assert summary["outcomes_observed_until"] == fixture.END.isoformat()
    for name in ("current", "candidate"):
        variant = summary["variants"][name]
        assert variant["person_days"] > 0
        assert variant["auc"] is None or 0 <= variant["auc"] <= 1
        assert sum(variant["tier_shares"].values()) == pytest.approx(1.0)
    # the model version hashes the seeds: it differs exactly when some points changed
    assert (summary["current_model_version"] != summary["candidate_model_version"]) == (
        sum(changed.values()) > 0
    )
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
    from lead_scoring.replay import history

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
