"""
### lead_scoring_hourly

Every hour: extract changed CRM records (Salesforce through simple-salesforce, or Data
Loader files) and new MAP activity files, load them into the DuckDB warehouse, check them
with Great Expectations, load the seeds and run their tests if they changed
(`build_seeds`), score with one cosmos `dbt build` task (`dbt_build`; with
`LEADSCORE_DBT_TASKS=per_model`, a task per model rendered from the manifest), check the
scores, write the changed scores, owners and SLA fields back to the CRM and create each
handoff Task once (a rep's newly routed Tier 1-2 Lead), score an active shadow challenger
beside the champion (`shadow_score`, never written to the CRM), record an active pilot's
scores and `reporting.rpt_pilot` (`pilot_record`), and raise each new SLA breach and each new
owner alert (score jump, tier crossing, signal, engaged account: `alert_rules.csv`) once
(`ops.alerts`, the log, Slack/SMTP when configured; owner alerts to the owner, in their
business hours).

Everything is computed as of the run's `data_interval_end`: re-running an hour gives that
hour's scores and writes nothing twice. All tasks that touch DuckDB run in the one-slot
`duckdb_writer` pool (DuckDB takes one writer). Logic lives in `plugins/lead_scoring`.
"""

from __future__ import annotations

from datetime import datetime, timezone

from airflow.sdk import dag, task
from airflow.timetables.interval import CronDataIntervalTimetable

from lead_scoring.airflow_support import DUCKDB_POOL, LEAD_SCORES, hourly_dbt_step, run_context, task_defaults


@dag(
    dag_id="lead_scoring_hourly",
    schedule=CronDataIntervalTimetable("0 * * * *", timezone="UTC"),
    start_date=datetime(2026, 1, 1, tzinfo=timezone.utc),
    catchup=False,
    max_active_runs=1,
    default_args=task_defaults(retries=2),
    tags=["leadscore", "hourly", "scoring"],
    doc_md=__doc__,
)
def lead_scoring_hourly():
    @task
    def extract_crm(**context) -> dict:
        from lead_scoring import pipeline

        return pipeline.extract_crm(run_context(context))

    @task
    def extract_map(**context) -> dict:
        from lead_scoring import pipeline

        return pipeline.extract_map(run_context(context))

    @task
    def load_raw(crm: dict, map_files: dict, **context) -> dict:
        from lead_scoring import pipeline

        return pipeline.load_raw(run_context(context), crm, map_files)

    @task
    def validate_raw(load: dict, **context) -> dict:
        from lead_scoring import pipeline

        return pipeline.validate_raw(run_context(context), load)

    @task(retries=0)
    def build_seeds(**context) -> dict:
        from lead_scoring import pipeline

        return pipeline.build_seeds(run_context(context))

    @task
    def validate_scores(**context) -> dict:
        from lead_scoring import pipeline

        return pipeline.validate_scores(run_context(context))

    @task(retries=0)
    def write_back_crm(**context) -> dict:
        from lead_scoring import pipeline

        return pipeline.write_back_crm(run_context(context))

    @task(retries=0)
    def shadow_score(**context) -> dict:
        from lead_scoring import pipeline

        return pipeline.shadow_score(run_context(context))

    @task
    def pilot_prepare(**context) -> dict:
        from lead_scoring import pipeline

        return pipeline.pilot_prepare(run_context(context))

    @task
    def pilot_record(**context) -> dict:
        from lead_scoring import pipeline

        return pipeline.pilot_record(run_context(context))

    @task(retries=1)
    def alert_sla(**context) -> dict:
        from lead_scoring.sla_monitor import alert_sla as raise_alerts

        return raise_alerts(run_context(context))

    @task(outlets=[LEAD_SCORES])
    def publish_summary(
        crm: dict,
        map_files: dict,
        load: dict,
        raw_checks: dict,
        score_checks: dict,
        write: dict,
        shadow: dict,
        pilot: dict,
        sla: dict,
        **context,
    ) -> dict:
        from lead_scoring import run_summary

        stages = {
            "extract_crm": crm,
            "extract_map": map_files,
            "load_raw": load,
            "validate_raw": raw_checks,
            "validate_scores": score_checks,
            "write_back": write,
            "shadow_score": shadow,
            "pilot_record": pilot,
            "alert_sla": sla,
        }
        return run_summary.summarize(run_context(context), stages, map_files["started_at"])

    crm = extract_crm()
    map_files = extract_map()
    loaded = load_raw(crm, map_files)
    raw_checks = validate_raw(loaded)
    dbt_build = hourly_dbt_step(pool=DUCKDB_POOL)
    score_checks = validate_scores()
    write = write_back_crm()
    shadow = shadow_score()
    pilot = pilot_record()
    alerts = alert_sla()
    raw_checks >> pilot_prepare() >> build_seeds() >> dbt_build
    dbt_build >> score_checks >> write >> shadow >> pilot >> alerts
    publish_summary(crm, map_files, loaded, raw_checks, score_checks, write, shadow, pilot, alerts)


lead_scoring_hourly()
