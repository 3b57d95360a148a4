"""Glue between the DAG files and the package: run context from a task's Airflow context,
and the cosmos task group that runs the dbt project from its manifest."""

from __future__ import annotations

from datetime import timedelta

from airflow.sdk import Asset

from lead_scoring.airflow_env import DUCKDB_POOL
from lead_scoring.config import load_settings
from lead_scoring.pipeline import RunContext, make_context

# Published by the hourly DAG when scores are written; the weekly DAG is scheduled on it.
LEAD_SCORES = Asset("duckdb://warehouse/marts/lead_scores")

AS_OF_TEMPLATE = "{{ data_interval_end.strftime('%Y-%m-%dT%H:%M:%S') }}"
# Asset-triggered runs (the weekly DAG) may have no data interval: fall back to run_after.
REPORT_AS_OF_TEMPLATE = "{{ (data_interval_end or dag_run.run_after).strftime('%Y-%m-%dT%H:%M:%S') }}"


def run_context(context: dict) -> RunContext:
    """The run's id and as_of (= data_interval_end) from an Airflow task context; from here
    on the CRM connection is looked up in Airflow (connection ``salesforce_default``), and
    the task's log records carry the run id and the task id as stage."""
    from lead_scoring import run_logging  # noqa: PLC0415
    from lead_scoring.crm.client import AIRFLOW_TASK_CONTEXT  # noqa: PLC0415

    AIRFLOW_TASK_CONTEXT["active"] = True
    ctx = make_context(context["run_id"], context["data_interval_end"])
    ti = context.get("ti")
    run_logging.bind_task(ctx.run_id, getattr(ti, "task_id", None) or "airflow")
    return ctx


def task_defaults(retries: int, retry_delay: timedelta = timedelta(minutes=1)) -> dict:
    """``default_args`` every leadscore DAG shares: its tasks run in the one-slot DuckDB pool
    (``make airflow``/``demo`` create it) and report failures through ``on_task_failure``."""
    return {
        "owner": "revops-analytics",
        "retries": retries,
        "retry_delay": retry_delay,
        "pool": DUCKDB_POOL,
        "on_failure_callback": on_task_failure,
    }


def on_task_failure(context: dict) -> None:
    """DAG failure callback: name the failed stage and the fix, mark the run failed."""
    from lead_scoring.failures import record_failure  # noqa: PLC0415
    from lead_scoring.pipeline import parse_as_of, safe_run_id  # noqa: PLC0415

    record_failure(
        safe_run_id(context["run_id"]),
        parse_as_of(context["data_interval_end"]),
        context["ti"].task_id,
        context.get("exception"),
    )


def dbt_task_group(
    pool: str, group_id: str = "dbt_build", select: str = "tag:hourly", as_of_template: str = AS_OF_TEMPLATE
):
    """A cosmos DbtTaskGroup rendered from ``dbt_project/target/manifest.json``
    (``LoadMode.DBT_MANIFEST``: no dbt call at parse time), executed in-process with one
    dbt runner per node (``ExecutionMode.LOCAL`` + ``InvocationMode.DBT_RUNNER``; the watcher
    mode's sensors wait forever under ``airflow dags test``, which runs tasks one by one),
    data tests after all models, as of the run's data_interval_end."""
    from cosmos import (  # noqa: PLC0415 - only needed when a DAG is parsed
        DbtTaskGroup,
        ExecutionConfig,
        ProfileConfig,
        ProjectConfig,
        RenderConfig,
    )
    from cosmos.constants import ExecutionMode, InvocationMode, LoadMode, TestBehavior  # noqa: PLC0415

    settings = load_settings()
    manifest = settings.dbt_project_dir / "target" / "manifest.json"
    if not manifest.exists():
        raise FileNotFoundError(
            f"{manifest} is missing: run `make manifest` (dbt parse) before loading the DAGs"
        )
    return DbtTaskGroup(
        group_id=group_id,
        project_config=ProjectConfig(
            dbt_project_path=settings.dbt_project_dir,
            manifest_path=manifest,
            # unit tests check the SQL on fixtures: CI runs them (`make test`), not each DAG run
            env_vars={
                "LEADSCORE_WAREHOUSE": str(settings.warehouse),
                "DBT_EXCLUDE_RESOURCE_TYPES": "unit_test",
            },
        ),
        profile_config=ProfileConfig(
            profile_name="lead_scoring",
            target_name="duckdb",
            profiles_yml_filepath=settings.dbt_project_dir / "profiles.yml",
        ),
        render_config=RenderConfig(
            load_method=LoadMode.DBT_MANIFEST,
            select=[select],
            test_behavior=TestBehavior.AFTER_ALL,
        ),
        execution_config=ExecutionConfig(
            execution_mode=ExecutionMode.LOCAL,
            invocation_mode=InvocationMode.DBT_RUNNER,
        ),
        operator_args={
            "vars": {"as_of": as_of_template},
            "install_deps": False,
            "pool": pool,
            "retries": 0,
        },
    )
