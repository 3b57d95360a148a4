"""Glue between the DAG files and the package: run context from a task's Airflow context,
and the cosmos tasks that run the dbt project (one ``dbt build`` task, or a task group
rendered from the manifest)."""

from __future__ import annotations

import os
from datetime import timedelta

from airflow.sdk import Asset

from lead_scoring.airflow_env import DUCKDB_POOL
from lead_scoring.config import load_settings
from lead_scoring.run_context import RunContext, make_context, parse_as_of, safe_run_id

# Every DAG file imports this module when Airflow parses it: what only a running task needs
# (requests, duckdb, pandas) is imported inside the functions below, not here.

# Published by the hourly DAG when scores are written; the weekly DAG is scheduled on it.
LEAD_SCORES = Asset("duckdb://warehouse/marts/lead_scores")

AS_OF_TEMPLATE = "{{ data_interval_end.strftime('%Y-%m-%dT%H:%M:%S') }}"
# Asset-triggered runs (the weekly DAG) may have no data interval: fall back to run_after.
REPORT_AS_OF_TEMPLATE = "{{ (data_interval_end or dag_run.run_after).strftime('%Y-%m-%dT%H:%M:%S') }}"


def run_context(context: dict) -> RunContext:
    """The run's id and as_of (= data_interval_end) from an Airflow task context; from here
    on the CRM connection is looked up in Airflow (connection ``salesforce_default``), and
    the task's log records carry the run id and the task id as stage."""
    from lead_scoring import run_logging  # noqa: PLC0415 - task time only
    from lead_scoring.crm.client import AIRFLOW_TASK_CONTEXT  # noqa: PLC0415 - task time only

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
    from lead_scoring.failures import record_failure  # noqa: PLC0415 - task time only

    record_failure(
        safe_run_id(context["run_id"]),
        parse_as_of(context["data_interval_end"]),
        context["ti"].task_id,
        context.get("exception"),
    )


# How the hourly DAG runs dbt (read when the DAG file is parsed):
#   build      one cosmos `dbt build` task (default): one dbt invocation, as `leadscore run` does
#   per_model  a cosmos task group with a task per model, then one test task
DBT_TASKS_ENV = "LEADSCORE_DBT_TASKS"
DBT_TASK_MODES = ("build", "per_model")
HOURLY_SELECT = "tag:hourly"
# The data tests tagged weekly (on views whose test recomputes them) run with the weekly build,
# after every hourly run: off the path from the extract to the CRM. The seeds and their tests
# run before, in the build_seeds task, when they changed (plugins/lead_scoring/seed_build.py).
HOURLY_EXCLUDE = ["tag:weekly", "resource_type:seed"]
# Unit tests check the SQL on fixed fixtures: CI runs them (`make test`), not each DAG run.
NO_UNIT_TESTS = {"DBT_EXCLUDE_RESOURCE_TYPES": "unit_test"}


def dbt_task_mode() -> str:
    """``LEADSCORE_DBT_TASKS`` (default ``build``), checked: a typo fails the DAG import with
    the allowed values instead of silently picking one."""

    mode = os.environ.get(DBT_TASKS_ENV, "").strip() or "build"
    if mode not in DBT_TASK_MODES:
        raise ValueError(f"{DBT_TASKS_ENV}={mode!r}; use one of: {', '.join(DBT_TASK_MODES)}")
    return mode


def hourly_dbt_step(pool: str, task_id: str = "dbt_build"):
    """The hourly DAG's dbt step, as ``LEADSCORE_DBT_TASKS`` says.

    ``build`` (default) runs ``dbt build --select tag:hourly`` (unit tests, the weekly-tagged
    tests and the seeds, which ``build_seeds`` loads when they change, excluded) in one task:
    the same single dbt invocation as ``leadscore run``, so the DAG costs about what the
    command line does. One task per model paid ~1.5–2.6 s of task and dbt start-up for
    each of the 60-odd nodes (101 s on top of a 26 s run at bench scale S); a failed model or
    test still fails the task with dbt's message naming it, and the task log has dbt's line
    and time for every node. ``per_model`` renders the cosmos task group instead (a task per
    model in the UI, retried one by one) for whoever prefers that view to the time."""
    if dbt_task_mode() == "per_model":
        return dbt_task_group(pool=pool, group_id=task_id)
    # no retries, as in the task group: a failed model or test fails the same way again
    return dbt_build_task(
        task_id,
        select=HOURLY_SELECT,
        as_of_template=AS_OF_TEMPLATE,
        pool=pool,
        env=NO_UNIT_TESTS,
        retries=0,
        exclude=HOURLY_EXCLUDE,
    )


def _profile_config(settings):
    from cosmos import ProfileConfig  # noqa: PLC0415 - only needed when a DAG is parsed

    return ProfileConfig(
        profile_name="lead_scoring",
        target_name="duckdb",
        profiles_yml_filepath=settings.dbt_project_dir / "profiles.yml",
    )


def hold_writer_lock(context: dict) -> None:
    """``pre_execute`` of the dbt tasks: the warehouse's writer lock for the task's process
    (lead_scoring.writer_lock), so a command-line run never writes beside a dbt build."""
    from lead_scoring import writer_lock  # noqa: PLC0415

    task = context.get("task")
    writer_lock.hold_for_process(load_settings().warehouse, f"Airflow task {getattr(task, 'task_id', 'dbt')}")


def dbt_build_task(
    task_id: str,
    select: str,
    as_of_template: str,
    pool: str,
    env: dict[str, str] | None = None,
    **operator_args,
):
    """One cosmos ``dbt build --select <select>`` task (``DbtBuildLocalOperator``, in-process
    dbt runner) as of the rendered ``as_of_template``: the models and their data tests in one
    dbt invocation."""
    from cosmos.constants import InvocationMode  # noqa: PLC0415 - only needed when a DAG is parsed
    from cosmos.operators.local import DbtBuildLocalOperator  # noqa: PLC0415

    settings = load_settings()
    return DbtBuildLocalOperator(
        task_id=task_id,
        project_dir=str(settings.dbt_project_dir),
        profile_config=_profile_config(settings),
        select=select,
        # as_of in the environment, not --vars (macros/as_of.sql): dbt's partial parsing holds
        env={
            "LEADSCORE_WAREHOUSE": str(settings.warehouse),
            "LEADSCORE_AS_OF": as_of_template,
            **(env or {}),
        },
        append_env=True,
        invocation_mode=InvocationMode.DBT_RUNNER,
        install_deps=False,
        pool=pool,
        pre_execute=hold_writer_lock,
        **operator_args,
    )


def dbt_task_group(
    pool: str, group_id: str = "dbt_build", select: str = HOURLY_SELECT, as_of_template: str = AS_OF_TEMPLATE
):
    """A cosmos DbtTaskGroup rendered from ``dbt_project/target/manifest.json``
    (``LoadMode.DBT_MANIFEST``: no dbt call at parse time), executed in-process with one
    dbt runner per node (``ExecutionMode.LOCAL`` + ``InvocationMode.DBT_RUNNER``; the watcher
    mode's sensors wait forever under ``airflow dags test``, which runs tasks one by one),
    data tests after all models, as of the run's data_interval_end."""
    from cosmos import (  # noqa: PLC0415 - only needed when a DAG is parsed
        DbtTaskGroup,
        ExecutionConfig,
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
        ),
        profile_config=_profile_config(settings),
        render_config=RenderConfig(
            load_method=LoadMode.DBT_MANIFEST,
            select=[select],
            exclude=HOURLY_EXCLUDE if select == HOURLY_SELECT else [],
            test_behavior=TestBehavior.AFTER_ALL,
        ),
        execution_config=ExecutionConfig(
            execution_mode=ExecutionMode.LOCAL,
            invocation_mode=InvocationMode.DBT_RUNNER,
        ),
        operator_args={
            # (cosmos takes env here or in ProjectConfig.env_vars, not both: the as_of is templated)
            "env": {
                "LEADSCORE_WAREHOUSE": str(settings.warehouse),
                "LEADSCORE_AS_OF": as_of_template,
                **NO_UNIT_TESTS,
            },
            "append_env": True,
            "install_deps": False,
            "pool": pool,
            "retries": 0,
            "pre_execute": hold_writer_lock,
        },
    )
