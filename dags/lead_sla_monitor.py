"""
### lead_sla_monitor

Every 5 minutes, between the hourly runs: pull from the CRM only the Tasks of the Leads
whose SLA clock is open (`marts.lead_sla` on_track or at_risk), rebuild `marts.lead_sla` as
of the run's `data_interval_end`, and raise each new breach once (`ops.alerts`, the log,
Slack/SMTP when the `leadscore_slack` / `leadscore_smtp` connections exist).

Routing itself stays the hourly run's. All tasks write DuckDB, so they run in the one-slot
`duckdb_writer` pool with `max_active_runs=1`. Logic lives in `lead_scoring.sla_monitor`.
"""

from __future__ import annotations

from datetime import datetime, timedelta, timezone

from airflow.sdk import dag, task
from airflow.timetables.interval import CronDataIntervalTimetable

from lead_scoring.airflow_support import run_context, task_defaults


@dag(
    dag_id="lead_sla_monitor",
    schedule=CronDataIntervalTimetable("*/5 * * * *", timezone="UTC"),
    start_date=datetime(2026, 1, 1, tzinfo=timezone.utc),
    catchup=False,
    max_active_runs=1,
    dagrun_timeout=timedelta(minutes=10),
    default_args=task_defaults(retries=1, retry_delay=timedelta(seconds=30)),
    tags=["leadscore", "sla", "monitor"],
    doc_md=__doc__,
)
def lead_sla_monitor():
    @task
    def pull_open_sla_tasks(**context) -> dict:
        from lead_scoring import sla_monitor

        return sla_monitor.pull_open_sla_tasks(run_context(context))

    @task
    def refresh_sla(**context) -> dict:
        from lead_scoring import sla_monitor

        return sla_monitor.refresh_sla(run_context(context))

    @task
    def alert_sla(**context) -> dict:
        from lead_scoring import sla_monitor

        return sla_monitor.alert_sla(run_context(context))

    pull_open_sla_tasks() >> refresh_sla() >> alert_sla()


lead_sla_monitor()
