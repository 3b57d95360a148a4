"""
### lead_scoring_weekly

Builds the RevOps reporting tables (`reporting.rpt_*`, the dbt models tagged `weekly`) and
renders `reports/weekly_report.html`: conversion by tier by cohort week, score and tier
distribution, SLA compliance (when the routing/SLA tables exist), calibration, win analysis
(attribute lift with suggested points), scoring accuracy, threshold recommendations and the
last backtest and the model card. One self-contained HTML file with inline SVG charts.

First, `retrain_model` trains a new points table when the newest is older than
`LEADSCORE_MODEL_RETRAIN_DAYS` (7; 0: never) and promotes it only if it beats the champion
(`plugins/lead_scoring/model/retrain.py`, docs/predictive-scoring.md).

Runs after every hourly scoring run (the `marts/lead_scores` Asset) and every Monday 07:00
UTC. Everything is computed as of the run's `data_interval_end` (asset-triggered runs: the
run's `run_after`). The models and their data tests run as one cosmos `dbt build` task
(`dbt_reports`, one dbt invocation), not one task per model, with the data tests of hourly
models tagged `weekly` (those that recompute a view or scan a whole activity table), kept
off the hourly run's path to the CRM. All tasks run in the one-slot
`duckdb_writer` pool (DuckDB takes one writer); `max_active_runs=1`. Logic lives in
`plugins/lead_scoring/reporting`.
"""

from __future__ import annotations

from datetime import datetime, timezone

from airflow.sdk import Asset, AssetOrTimeSchedule, CronTriggerTimetable, dag, task

from lead_scoring.airflow_support import (
    DUCKDB_POOL,
    LEAD_SCORES,
    REPORT_AS_OF_TEMPLATE,
    dbt_build_task,
    task_defaults,
)

WEEKLY_REPORT = Asset("file://reports/weekly_report.html")


@dag(
    dag_id="lead_scoring_weekly",
    schedule=AssetOrTimeSchedule(
        timetable=CronTriggerTimetable("0 7 * * 1", timezone="UTC"),
        assets=[LEAD_SCORES],
    ),
    start_date=datetime(2026, 1, 1, tzinfo=timezone.utc),
    catchup=False,
    max_active_runs=1,
    default_args=task_defaults(retries=2),
    tags=["leadscore", "weekly", "reporting"],
    doc_md=__doc__,
)
def lead_scoring_weekly():
    @task(outlets=[WEEKLY_REPORT])
    def render_report() -> dict:
        from lead_scoring.config import load_settings
        from lead_scoring.reporting.weekly import report_path, write_report

        settings = load_settings()
        return write_report(settings.warehouse, report_path(settings))

    @task
    def retrain_model(as_of: str) -> dict:
        from lead_scoring.config import load_settings
        from lead_scoring.model.retrain import retrain_if_due
        from lead_scoring.run_context import parse_as_of

        return retrain_if_due(load_settings(), parse_as_of(as_of))

    reports = dbt_build_task(
        "dbt_reports", select="tag:weekly", as_of_template=REPORT_AS_OF_TEMPLATE, pool=DUCKDB_POOL
    )
    retrain_model(REPORT_AS_OF_TEMPLATE) >> reports >> render_report()


lead_scoring_weekly()
