"""The weekly DAG's dbt step: one cosmos ``dbt build`` task for the reporting models.

The weekly models are a dozen small tables built from the hourly marts. Rendered one task
per model (a ``DbtTaskGroup``), every model and every test paid its own dbt invocation and
Airflow task start-up, about 3 s each, which made the weekly run take about 70 s under
``airflow dags test`` for a 3 s dbt build. One ``DbtBuildLocalOperator`` selecting
``tag:weekly`` runs the same models and data tests in one in-process dbt invocation; a failed
model or test fails the task with dbt's message naming it.
"""

from __future__ import annotations

from typing import Any


def dbt_build_task(task_id: str, select: str, as_of_template: str, pool: str, **operator_args: Any):
    """A cosmos ``dbt build --select <select>`` task as of the rendered ``as_of_template``."""
    from cosmos import ProfileConfig  # noqa: PLC0415 - only needed when a DAG is parsed
    from cosmos.constants import InvocationMode  # noqa: PLC0415
    from cosmos.operators.local import DbtBuildLocalOperator  # noqa: PLC0415

    from lead_scoring.config import load_settings  # noqa: PLC0415

    settings = load_settings()
    return DbtBuildLocalOperator(
        task_id=task_id,
        project_dir=str(settings.dbt_project_dir),
        profile_config=ProfileConfig(
            profile_name="lead_scoring",
            target_name="duckdb",
            profiles_yml_filepath=settings.dbt_project_dir / "profiles.yml",
        ),
        select=select,
        vars={"as_of": as_of_template},
        env={"LEADSCORE_WAREHOUSE": str(settings.warehouse)},
        append_env=True,
        invocation_mode=InvocationMode.DBT_RUNNER,
        install_deps=False,
        pool=pool,
        **operator_args,
    )
