"""DAG integrity: the DAG folder imports cleanly and the hourly DAG is wired as designed."""

from __future__ import annotations

import os
import time

import pytest

from conftest import REPO


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
    assert "validate_raw" in upstream("dbt_build.stg_salesforce__leads_run")
    assert {"dbt_build.lead_scores_run", "dbt_build.dbt_project_test"} <= upstream("validate_scores")
    assert "validate_scores" in upstream("write_back_crm")
    assert "write_back_crm" in upstream("publish_summary")
    # topological sort succeeds only without cycles
    assert len(dag.topological_sort()) == len(dag.tasks)


def test_dbt_models_rendered_from_the_manifest(dagbag):
    dag = dagbag.dags["lead_scoring_hourly"]
    task_ids = set(dag.task_ids)
    for model in ("stg_salesforce__leads", "lead_scores", "sync_salesforce__leads"):
        assert any(t.startswith(f"dbt_build.{model}") for t in task_ids), model


def test_alert_sla_runs_after_the_write_back(dagbag):
    dag = dagbag.dags["lead_scoring_hourly"]
    upstream = dag.get_task("alert_sla").get_flat_relative_ids(upstream=True)
    assert "write_back_crm" in upstream
    assert "alert_sla" in dag.get_task("publish_summary").get_flat_relative_ids(upstream=True)


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
