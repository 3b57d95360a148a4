"""End to end on real parts: the generator, the CRM sandbox over HTTPS, simple-salesforce,
DuckDB, dbt, GX, and the real Airflow running the hourly DAG (`airflow dags test`)."""

from __future__ import annotations

import json
from datetime import datetime

import pytest

from tests.support import generated_world, isolated_env

END = datetime(2026, 11, 1, 10, 0, 0)
pytestmark = pytest.mark.e2e


@pytest.fixture(scope="module")
def world(tmp_path_factory):
    """Synthetic data (the CRM also as Data Loader CSVs) in a fresh sandbox and landing folder,
    all under a temp dir."""
    root = tmp_path_factory.mktemp("e2e")
    with (
        pytest.MonkeyPatch.context() as mp,
        generated_world(root, mp, leads=800, days=60, seed=7, end=END, crm_files=True) as made,
    ):
        yield made


def run_dag(settings, sandbox, dag_id: str, extra_env: dict | None = None, prepare: bool = False) -> None:
    """`airflow dags test <dag_id>` for the hour ending at END; its log under var/."""
    import subprocess

    from lead_scoring.airflow_env import airflow, airflow_environment, prepare_metadata
    from lead_scoring_dev.demo import logical_date_for

    env = {**airflow_environment(settings, sandbox), **(extra_env or {})}
    log = settings.var_dir / f"{dag_id}_dags_test.log"
    with log.open("a") as handle:
        if prepare:
            prepare_metadata(env, stdout=handle, stderr=subprocess.STDOUT)
        done = airflow(
            ["dags", "test", dag_id, logical_date_for(END.isoformat())],
            env,
            check=False,
            stdout=handle,
            stderr=subprocess.STDOUT,
        )
    assert done.returncode == 0, log.read_text()[-5000:]


def dags_test(settings, sandbox, extra_env: dict | None = None) -> dict:
    run_dag(settings, sandbox, "lead_scoring_hourly", extra_env=extra_env, prepare=True)
    return json.loads((settings.runs_dir / "latest" / "summary.json").read_text())


def sandbox_calls(sandbox) -> dict:
    from crm_sandbox import runtime

    return runtime.stats(sandbox)["counts"]


def test_hourly_dag_scores_land_in_the_crm(world):
    """The DAG's tasks run the stages `leadscore run` runs (a re-run of an hour writing nothing
    is checked on those stages in test_routing_across_hours.py, without Airflow's start-up)."""
    from crm_sandbox.store import query_sql
    from lead_scoring import warehouse

    settings, sandbox = world
    # the first extract of the bigger objects (800 Leads, their Tasks) goes by Bulk API 2.0
    # query jobs; the re-run's empty windows by REST
    first = dags_test(settings, sandbox, {"LEADSCORE_EXTRACT_BULK_THRESHOLD": "300"})
    assert sandbox_calls(sandbox).get("bulk_query_create", 0) >= 1
    assert first["as_of"] == END.isoformat()
    assert all(count > 0 for count in first["tier_counts"].values()), first["tier_counts"]
    assert first["gx"] and set(first["gx"].values()) == {"pass"}
    assert first["crm_write_failures"] == 0
    assert first["crm_records_written"] == first["crm_records_changed"] > 0
    # in Airflow the parts add up to the run too: the cosmos dbt build is the remainder
    assert {"alert_sla", "dbt_build_and_task_start_up"} <= set(first["stage_durations_s"])
    assert abs(sum(first["stage_durations_s"].values()) - first["duration_s"]) <= 0.5

    with warehouse.connect(settings.warehouse) as con:
        expected = dict(con.execute("select Id, Lead_Score__c from marts.sync_salesforce__leads").fetchall())
        tiers = dict(con.execute("select Id, Lead_Tier__c from marts.sync_salesforce__leads").fetchall())
    crm = {
        row[0]: row[1:]
        for row in query_sql(
            sandbox.db,
            "select Id, Lead_Score__c, Lead_Tier__c, Score_Model_Version__c "
            "from Lead where Lead_Score__c is not null",
        )
    }
    assert set(crm) == set(expected)  # every open Lead written, converted ones untouched
    for crm_id, (score, tier, version) in crm.items():
        assert score == expected[crm_id] and tier == tiers[crm_id]
        assert version.startswith("v1-")

    with warehouse.connect(settings.warehouse) as con:
        account_expected = dict(
            con.execute("select Id, Account_Score__c from marts.sync_salesforce__accounts").fetchall()
        )
    account_crm = dict(
        query_sql(sandbox.db, "select Id, Account_Score__c from Account where Account_Score__c is not null")
    )
    assert account_crm == account_expected and account_crm

    # the DAGs the run registered are live for `make airflow` (not paused at creation)
    import sqlite3

    with sqlite3.connect(settings.var_dir / "airflow" / "airflow.db") as metadata:
        paused = dict(metadata.execute("select dag_id, is_paused from dag").fetchall())
    assert paused and not any(paused.values()), paused


def test_files_source_with_dry_run_calls_nothing(world, tmp_path, monkeypatch):
    """Data Loader CSVs as the CRM source, dry run: payload to a file, the CRM untouched."""
    from crm_sandbox.store import query_sql
    from lead_scoring import pipeline, run_context

    settings, sandbox = world
    isolated_env(tmp_path, monkeypatch)
    monkeypatch.setenv("LEADSCORE_LANDING", str(settings.landing))
    monkeypatch.setenv("LEADSCORE_CRM_SOURCE", "files")
    monkeypatch.setenv("LEADSCORE_DRY_RUN", "true")
    monkeypatch.setenv("LEADSCORE_SANDBOX_DIR", str(tmp_path / "no-sandbox"))
    before = query_sql(sandbox.db, "select max(SystemModstamp) from Lead")
    summary = pipeline.run_all(run_context.make_context("files_dry_run", END))
    assert summary["dry_run"] and summary["crm_records_written"] == 0
    assert summary["crm_records_changed"] > 0 and summary["leads_scored"] > 0
    assert summary["leads_scored"] + summary["contacts_scored"] == summary["records_scored"]
    assert summary["records_scored"] == sum(summary["tier_counts"].values())
    assert 0 < summary["people_scored"] < summary["records_scored"]  # duplicates merged
    assert summary["scoring_version"] == "v1"  # the first run records the scoring version
    durations = summary["stage_durations_s"]
    assert "dbt_build" in durations and "alert_sla" in durations
    assert abs(sum(durations.values()) - summary["duration_s"]) <= 0.5, durations
    payload = (tmp_path / "runs" / "files_dry_run" / "dry_run" / "Lead_payload.csv").read_text()
    assert payload.splitlines()[0].startswith("Id,Lead_Score__c,")
    assert (
        len(payload.splitlines()) - 1
        == json.loads((tmp_path / "runs" / "files_dry_run" / "dry_run" / "Lead_diff.json").read_text())[
            "changed"
        ]
    )
    assert query_sql(sandbox.db, "select max(SystemModstamp) from Lead") == before


def test_weekly_dag_builds_the_reports_and_renders_the_html(world):
    """`airflow dags test lead_scoring_weekly` on the scores the hourly DAG left (its run is
    reused: the weekly DAG costs one more `dags test` here, not a new world)."""
    import duckdb

    settings, sandbox = world
    if not (settings.runs_dir / "latest" / "summary.json").exists():  # run alone (-k): score first
        dags_test(settings, sandbox)  # (also creates the Airflow metadata DB and pool)
    reports = settings.var_dir / "reports"
    run_dag(settings, sandbox, "lead_scoring_weekly", {"LEADSCORE_REPORTS": str(reports)})

    with duckdb.connect(str(settings.warehouse)) as con:
        counts = {
            table: con.execute(f"select count(*) from reporting.{table}").fetchall()[0][0]
            for table in (
                "rpt_conversion_by_tier_weekly",
                "rpt_score_distribution_weekly",
                "rpt_scoring_accuracy",
                "rpt_icp_attribute_lift",
                "rpt_score_calibration",
                "rpt_threshold_recommendations",
                "rpt_funnel",
                "rpt_kpi_weekly",
            )
        }
        as_of = con.execute("select max(scored_at) from marts.lead_scores").fetchall()[0][0]
        versions = con.execute("select trained_at, is_promoted, metrics from ops.model_versions").fetchall()
    assert all(counts.values()), counts
    # retrain_model trained a version as of the run, promoted only if it beat the rules
    ((trained_at, promoted, metrics),) = versions
    metrics = json.loads(metrics)
    assert trained_at == END
    assert promoted == (metrics["auc"] > metrics["rules_auc"])
    assert as_of == END
    html = (reports / "weekly_report.html").read_text()
    for key in ("conversion", "funnel", "distribution", "calibration", "lift", "accuracy", "thresholds"):
        section = html.split(f'<section id="{key}">')[1].split("</section>")[0]
        assert "not available" not in section and "failed to render" not in section, key
    header = html.split('<div class="kpis">')[1].split("<nav>")[0]
    assert "New MQLs" in header and "not available" not in header and "failed to render" not in header
    assert html.count("<svg") >= 4


def test_fast_lane_dag_carries_a_new_lead_to_the_crm(world):
    """`airflow dags test lead_scoring_fast_lane` for the minute ending 10:05, after the hourly
    run of 10:00: a Lead created at 10:03 that requested a demo at 10:04 is in the CRM with
    its tier and owner (what the fast lane writes and does not is tests/e2e/test_fast_lane.py)."""
    from datetime import timedelta

    from lead_scoring.airflow_env import airflow, airflow_environment
    from lead_scoring_dev.fast_lane_trial import (
        best_fitting_routed_lead,
        create_lead,
        crm_lead,
        land_demo_request,
        new_lead_id,
    )

    settings, sandbox = world
    if not (settings.runs_dir / "latest" / "summary.json").exists():  # run alone (-k): score first
        dags_test(settings, sandbox)
    crm_id = new_lead_id(7)
    create_lead(sandbox.db, best_fitting_routed_lead(settings), crm_id, END + timedelta(minutes=3))
    land_demo_request(settings.landing, crm_id, END + timedelta(minutes=4))
    log = settings.var_dir / "lead_scoring_fast_lane_dags_test.log"
    with log.open("a") as handle:
        done = airflow(
            ["dags", "test", "lead_scoring_fast_lane", "2026-11-01T10:05:00+00:00"],
            airflow_environment(settings, sandbox),
            check=False,
            stdout=handle,
            stderr=handle,
        )
    assert done.returncode == 0, log.read_text()[-5000:]
    summary = json.loads((settings.runs_dir / "latest" / "summary.json").read_text())
    assert summary["lane"] == "fast" and summary["as_of"] == "2026-11-01T10:05:00"
    assert summary["touched_people"] >= 1 and summary["crm_write_failures"] == 0
    lead = crm_lead(sandbox.db, crm_id)
    assert lead["Lead_Tier__c"] and lead["OwnerId"] and lead["Lead_Score__c"] is not None
