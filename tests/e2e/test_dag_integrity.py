"""DAG integrity: the DAG folder imports cleanly and the hourly DAG is wired as designed."""

from __future__ import annotations

import os
import time

import pytest

from tests.support import REPO


@pytest.fixture(scope="module")
def dagbag(tmp_path_factory):
    home = tmp_path_factory.mktemp("airflow_home")
    os.environ.setdefault("AIRFLOW_HOME", str(home))
    os.environ["AIRFLOW__CORE__LOAD_EXAMPLES"] = "False"
    from airflow.models.dagbag import DagBag

    started = time.perf_counter()
    bag = DagBag(dag_folder=str(REPO / "dags"))
    bag.parse_seconds = time.perf_counter() - started
    return bag


def test_no_import_errors(dagbag):
    assert dagbag.import_errors == {}
    assert "lead_scoring_hourly" in dagbag.dags


def test_hourly_dag_settings(dagbag):
    from airflow.timetables.interval import CronDataIntervalTimetable

    dag = dagbag.dags["lead_scoring_hourly"]
    assert isinstance(dag.timetable, CronDataIntervalTimetable)
    assert dag.catchup is False
    assert dag.max_active_runs == 1
    assert {"leadscore", "hourly"} <= set(dag.tags)
    assert dag.doc_md and "data_interval_end" in dag.doc_md
    for task in dag.tasks:
        assert task.pool == "duckdb_writer", task.task_id


def test_retries_except_where_a_retry_could_double_write(dagbag):
    dag = dagbag.dags["lead_scoring_hourly"]
    for task_id in ("extract_crm", "extract_map", "load_raw", "validate_raw", "validate_scores"):
        assert dag.get_task(task_id).retries >= 1, task_id


def test_task_order(dagbag):
    dag = dagbag.dags["lead_scoring_hourly"]

    def upstream(task_id):
        return dag.get_task(task_id).get_flat_relative_ids(upstream=True)

    assert {"extract_crm", "extract_map"} <= upstream("load_raw")
    assert "validate_raw" in upstream("dbt_build")
    # the seeds (when they changed) before the build that reads them and leaves them out
    assert "build_seeds" in upstream("dbt_build")
    assert "dbt_build" in upstream("validate_scores")
    assert "validate_scores" in upstream("write_back_crm")
    assert "write_back_crm" in upstream("publish_summary")
    # topological sort succeeds only without cycles
    assert len(dag.topological_sort()) == len(dag.tasks)


def test_hourly_dbt_step_is_one_dbt_build(dagbag):
    dag = dagbag.dags["lead_scoring_hourly"]
    build = dag.get_task("dbt_build")
    # one dbt invocation, as `leadscore run` does: not a task per model (see LEADSCORE_DBT_TASKS)
    assert type(build).__name__ == "DbtBuildLocalOperator"
    assert build.select == "tag:hourly"
    # the data tests that recompute a view: weekly build; the seeds: the build_seeds task
    assert build.exclude == ["tag:weekly", "resource_type:seed"]
    assert build.env["DBT_EXCLUDE_RESOURCE_TYPES"] == "unit_test"  # unit tests run in CI
    assert "data_interval_end" in build.env["LEADSCORE_AS_OF"]  # not --vars: partial parsing holds
    assert build.retries == 0
    assert not any(task_id.startswith("dbt_build.") for task_id in dag.task_ids)


def _parse_hourly_with(monkeypatch, mode: str):
    from airflow.models.dagbag import DagBag

    monkeypatch.setenv("LEADSCORE_DBT_TASKS", mode)
    return DagBag(dag_folder=str(REPO / "dags" / "lead_scoring_hourly.py"))


def test_per_model_mode_renders_a_task_per_model_from_the_manifest(monkeypatch):
    bag = _parse_hourly_with(monkeypatch, "per_model")
    assert bag.import_errors == {}
    dag = bag.dags["lead_scoring_hourly"]
    task_ids = set(dag.task_ids)
    for model in ("stg_salesforce__leads", "lead_scores", "sync_salesforce__leads"):
        assert f"dbt_build.{model}_run" in task_ids, model
    assert "dbt_build" not in task_ids
    # the seeds are the build_seeds task's, not a task each
    assert not any(task_id.endswith("_seed") for task_id in task_ids)

    def upstream(task_id):
        return dag.get_task(task_id).get_flat_relative_ids(upstream=True)

    assert "validate_raw" in upstream("dbt_build.stg_salesforce__leads_run")
    assert {"dbt_build.lead_scores_run", "dbt_build.dbt_project_test"} <= upstream("validate_scores")
    assert len(dag.topological_sort()) == len(dag.tasks)


def test_unknown_dbt_task_mode_fails_the_import_naming_the_choices(monkeypatch):
    bag = _parse_hourly_with(monkeypatch, "per-model")
    assert "lead_scoring_hourly" not in bag.dags
    (error,) = bag.import_errors.values()
    assert "LEADSCORE_DBT_TASKS='per-model'" in error and "build, per_model" in error


def test_weekly_dag_runs_on_the_hourly_asset_and_monday_morning(dagbag):
    assert "lead_scoring_weekly" in dagbag.dags
    dag = dagbag.dags["lead_scoring_weekly"]
    hourly = dagbag.dags["lead_scoring_hourly"]
    hourly_outlets = {outlet.uri for outlet in hourly.get_task("publish_summary").outlets}
    timetable = dag.timetable
    assert type(timetable).__name__ == "AssetOrTimeSchedule"
    assets = {asset.uri for asset in timetable.asset_condition.objects}
    assert assets and assets <= hourly_outlets  # triggered by the hourly DAG's published scores
    assert timetable.timetable.expression == "0 7 * * 1"
    assert dag.catchup is False
    assert dag.max_active_runs == 1
    assert {"leadscore", "weekly"} <= set(dag.tags)
    assert dag.doc_md
    for task in dag.tasks:
        assert task.pool == "duckdb_writer", task.task_id
        assert task.retries >= 0


def test_weekly_dag_builds_the_weekly_models_then_renders(dagbag):
    dag = dagbag.dags["lead_scoring_weekly"]
    # one dbt build of the weekly models (and their tests), not one task per model
    build = dag.get_task("dbt_reports")
    assert type(build).__name__ == "DbtBuildLocalOperator"
    assert build.select == "tag:weekly"  # only the weekly models: the hourly ones are not re-run
    assert "data_interval_end" in build.env["LEADSCORE_AS_OF"]
    upstream = dag.get_task("render_report").get_flat_relative_ids(upstream=True)
    assert upstream == {"dbt_reports", "retrain_model"}  # the report shows the new model
    assert dag.get_task("dbt_reports").upstream_task_ids == {"retrain_model"}
    assert len(dag.topological_sort()) == len(dag.tasks) == 3


def test_backtest_dag_is_manual_with_params(dagbag):
    assert "lead_scoring_backtest" in dagbag.dags
    dag = dagbag.dags["lead_scoring_backtest"]
    assert type(dag.timetable).__name__ == "NullTimetable"  # schedule=None: manual only
    assert dag.max_active_runs == 1 and dag.catchup is False
    assert {"leadscore", "backtest"} <= set(dag.tags)
    assert {"days", "step_days", "horizon_days", "candidate_seeds", "candidate_from_win_analysis"} <= set(
        dag.params
    )
    assert dag.params["days"] == 90 and dag.params["step_days"] == 1
    for task in dag.tasks:
        assert task.pool == "duckdb_writer", task.task_id
    assert "run_backtest" in dag.get_task("render_report").get_flat_relative_ids(upstream=True)


def test_alert_sla_runs_after_the_write_back(dagbag):
    dag = dagbag.dags["lead_scoring_hourly"]
    upstream = dag.get_task("alert_sla").get_flat_relative_ids(upstream=True)
    assert "write_back_crm" in upstream
    assert "alert_sla" in dag.get_task("publish_summary").get_flat_relative_ids(upstream=True)
    # the shadow challenger is scored after the champion went out, never before
    assert dag.get_task("shadow_score").upstream_task_ids == {"write_back_crm"}
    assert "shadow_score" in dag.get_task("publish_summary").upstream_task_ids
    # a pilot's challenger is scored before the champion's build reads it, recorded after
    assert dag.get_task("pilot_prepare").upstream_task_ids == {"validate_raw"}
    assert "pilot_prepare" in dag.get_task("validate_scores").get_flat_relative_ids(upstream=True)
    assert dag.get_task("pilot_record").upstream_task_ids == {"shadow_score"}
    assert "pilot_record" in dag.get_task("publish_summary").upstream_task_ids


def test_sla_monitor_dag(dagbag):
    from airflow.timetables.interval import CronDataIntervalTimetable

    assert "lead_sla_monitor" in dagbag.dags
    dag = dagbag.dags["lead_sla_monitor"]
    assert isinstance(dag.timetable, CronDataIntervalTimetable)
    assert dag.timetable._expression == "*/5 * * * *"
    assert dag.catchup is False
    assert dag.max_active_runs == 1
    assert {"leadscore", "sla"} <= set(dag.tags)
    assert dag.doc_md and "data_interval_end" in dag.doc_md
    for task in dag.tasks:
        assert task.pool == "duckdb_writer", task.task_id
        assert task.retries >= 1, task.task_id
    assert dag.get_task("pull_open_sla_tasks").downstream_task_ids == {"refresh_sla"}
    assert dag.get_task("refresh_sla").downstream_task_ids == {"alert_sla"}
    assert len(dag.topological_sort()) == len(dag.tasks)


def test_fast_lane_dag(dagbag):
    from airflow.timetables.interval import CronDataIntervalTimetable

    dag = dagbag.dags["lead_scoring_fast_lane"]
    assert isinstance(dag.timetable, CronDataIntervalTimetable)
    assert dag.timetable._expression == "* * * * *"
    assert dag.catchup is False
    assert dag.max_active_runs == 1
    assert {"leadscore", "fast_lane"} <= set(dag.tags)
    assert dag.doc_md and "data_interval_end" in dag.doc_md
    # one task, in the pool the hourly DAG writes through, never retried (a retry could
    # pile up behind the next minute, which picks up whatever this one left)
    assert [task.task_id for task in dag.tasks] == ["fast_lane"]
    assert dag.get_task("fast_lane").pool == "duckdb_writer"
    assert dag.get_task("fast_lane").retries == 0


def test_the_tests_off_the_hourly_path_run_with_the_weekly_build_only():
    """The hourly build (tag:hourly, exclude tag:weekly) leaves out the data tests tagged
    weekly (those that recompute a view, and those over the whole activity tables); the
    weekly build (tag:weekly) selects them directly. Read from the manifest `make test`
    parses first."""
    import json

    from tests.support import REPO

    nodes = json.loads((REPO / "dbt_project" / "target" / "manifest.json").read_text())["nodes"]
    weekly = {
        node["name"]
        for node in nodes.values()
        if node["resource_type"] == "test" and "weekly" in node["tags"]
    }
    assert weekly == {
        "unique_combination_of_columns_int_people_features_person_id__feature",
        "unique_combination_of_columns_int_score_contributions_unioned_person_id__component__rule_id",
        "unique_stg_map__marketo_activities_activity_id",
        "unique_stg_map__events_activity_id",
        "unique_int_owner_alerts_triggered_alert_id",
        "not_null_int_owner_alerts_triggered_alert_id",
        "unique_combination_of_columns_int_activities_matched_to_people_person_key__activity_id",
        "unique_combination_of_columns_int_activities_signalled_person_key__activity_id",
        "unique_combination_of_columns_int_activities_capped_person_key__activity_source__activity_id",
    }
    from lead_scoring.pipeline import HOURLY_BUILD

    assert HOURLY_BUILD[HOURLY_BUILD.index("--exclude") + 1 :][:2] == ["tag:weekly", "resource_type:seed"]
