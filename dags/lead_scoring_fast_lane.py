"""
### lead_scoring_fast_lane

Every minute: a new hot lead to its owner in about a minute. The hourly run's own stages
(`lead_scoring.pipeline.run_fast_lane`) as of the run's `data_interval_end`, on what arrived
since the last run: extract the CRM's changes and the MAP files waiting, load them, and stop
when nothing arrived (early in an hour, it first waits for that hour's run to write back).
Otherwise validate them (GX), find the people touched (new and edited Leads and Contacts,
people with new activity or Tasks, and their Accounts), score and route them alone (the
narrow dbt build; the data tests stay with the hourly run), check their scores, write back
only them, create their handoff Tasks, and raise the alerts due.

One task (a task per stage would pay Airflow's start-up several times a minute), in the
one-slot `duckdb_writer` pool beside the hourly DAG: the lanes never write at once. An hourly
run never puts back an older score over a record the fast lane wrote later
(`lead_scoring.reverse_etl.sync`). See docs/fast-lane.md.
"""

from __future__ import annotations

from datetime import datetime, timedelta, timezone

from airflow.sdk import dag, task
from airflow.timetables.interval import CronDataIntervalTimetable

from lead_scoring.airflow_support import run_context, task_defaults


@dag(
    dag_id="lead_scoring_fast_lane",
    schedule=CronDataIntervalTimetable("* * * * *", timezone="UTC"),
    start_date=datetime(2026, 1, 1, tzinfo=timezone.utc),
    catchup=False,
    max_active_runs=1,
    dagrun_timeout=timedelta(minutes=10),
    default_args=task_defaults(retries=0),
    tags=["leadscore", "fast_lane", "scoring"],
    doc_md=__doc__,
)
def lead_scoring_fast_lane():
    @task
    def fast_lane(**context) -> dict:
        from lead_scoring import pipeline

        return pipeline.run_fast_lane(run_context(context))

    fast_lane()


lead_scoring_fast_lane()
