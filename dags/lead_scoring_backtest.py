"""
### lead_scoring_backtest

Manual: replays the last `days` days (default 90, every `step_days`) to test a scoring change
before it goes live. Each day is scored as of that day with only the data known then (raw
data rebuilt point-in-time in a scratch DuckDB file, the `+lead_scores` SQL compiled by dbt
once and replayed per day), and joined to the opportunities that followed within
`horizon_days`. AUC, top-decile lift, conversion by tier and tier shares for the current seeds
and, when `candidate_seeds` (a folder of edited seed CSVs) or `candidate_from_win_analysis`
is given, for the candidate side by side, land in `reporting.rpt_backtest` and
`reporting.rpt_backtest_daily`; the weekly report is re-rendered.

Trigger with params, e.g. `{"days": 90, "step_days": 7, "candidate_seeds": "/path/to/seeds"}`.
Runs in the one-slot `duckdb_writer` pool; logic lives in `plugins/lead_scoring/backtest`.
"""

from __future__ import annotations

from datetime import datetime, timezone

from airflow.sdk import Param, dag, task

from lead_scoring.airflow_support import task_defaults


@dag(
    dag_id="lead_scoring_backtest",
    schedule=None,
    start_date=datetime(2026, 1, 1, tzinfo=timezone.utc),
    catchup=False,
    max_active_runs=1,
    default_args=task_defaults(retries=1),
    params={
        "days": Param(90, type="integer", minimum=0),
        "step_days": Param(1, type="integer", minimum=1),
        "horizon_days": Param(30, type="integer", minimum=1),
        "end": Param(
            None, type=["null", "string"], description="last day scored (ISO, UTC); default: latest"
        ),
        "candidate_seeds": Param(None, type=["null", "string"], description="folder of edited seed CSVs"),
        "candidate_from_win_analysis": Param(
            False,
            type="boolean",
            description="candidate = points suggested by the win analysis fitted before the first scored day",
        ),
        "win_analysis_as_of": Param(
            None,
            type=["null", "string"],
            description="fit the win analysis as of this instant instead (ISO, UTC; later = in-sample)",
        ),
    },
    tags=["leadscore", "backtest", "manual"],
    doc_md=__doc__,
)
def lead_scoring_backtest():
    @task
    def run_backtest(params: dict) -> dict:
        from lead_scoring.backtest.airflow import backtest_from_params

        return backtest_from_params(params)

    @task
    def render_report() -> dict:
        from lead_scoring.config import load_settings
        from lead_scoring.reporting.weekly import report_path, write_report

        settings = load_settings()
        return write_report(settings.warehouse, report_path(settings))

    run_backtest() >> render_report()


lead_scoring_backtest()
