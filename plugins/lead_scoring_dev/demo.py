"""``leadscore demo``: the whole product on the embedded defaults, through the real Airflow.

Generates synthetic CRM + MAP data once (kept between demos), starts the CRM sandbox,
runs ``airflow dags test lead_scoring_hourly`` for the hour the data ends at, stops the
sandbox, and prints the run summary. Running it again re-runs the same hour: it writes
nothing new to the CRM.
"""

from __future__ import annotations

import json
import logging
import subprocess
from datetime import datetime
from pathlib import Path

from crm_sandbox import runtime
from crm_sandbox.store import load_parquet_dir
from lead_scoring import warehouse
from lead_scoring.airflow_env import airflow, airflow_environment, prepare_metadata
from lead_scoring.cli import format_summary
from lead_scoring.config import Settings, load_settings
from lead_scoring.run_context import count_argument
from lead_scoring_dev.generate.synthetic import generate

log = logging.getLogger(__name__)


def ensure_data(settings: Settings, leads: int, days: int, seed: int) -> dict:
    """Generate and load the sandbox once; later demos reuse it (and its written scores)."""

    out_dir = settings.var_dir / "generated"
    meta = out_dir / "generated.json"
    db = settings.sandbox_dir / "crm.sqlite"
    if meta.exists() and db.exists():
        return json.loads(meta.read_text())
    print(f"generating synthetic data: {leads} leads over {days} days (seed {seed}) ...", flush=True)
    info = generate(out_dir, settings.landing, leads=leads, days=days, seed=seed)
    db.parent.mkdir(parents=True, exist_ok=True)
    counts = load_parquet_dir(db, out_dir / "crm")
    print(f"CRM sandbox loaded: {counts}", flush=True)
    return json.loads(meta.read_text()) if meta.exists() else info


def logical_date_for(end: str) -> str:
    """The date to give ``airflow dags test`` so the hourly run's data interval ends at
    ``end`` floored to the hour (for a manual/test run, Airflow 3 infers the interval that
    ends at the given date)."""
    as_of = datetime.fromisoformat(end.replace("Z", "+00:00")).replace(minute=0, second=0, microsecond=0)
    return as_of.strftime("%Y-%m-%dT%H:%M:%S+00:00")


def failure_message(settings: Settings, started: datetime, log_file: Path) -> str:
    """What failed and what to do, from the run's row in ``ops.runs`` (written by the
    failure callback); the last log lines only when no stage recorded its failure (Airflow
    itself failed before a task ran)."""
    report = None
    try:
        with warehouse.read_only(settings.warehouse) as con:
            row = con.execute(
                "select summary from ops.runs where status = 'failed' and finished_at >= ? "
                "order by finished_at desc limit 1",
                [started],
            ).fetchone()
        report = json.loads(row[0]) if row else None
    except Exception as error:  # noqa: BLE001 - the log below still says what happened
        log.debug("no failure row: %s", error)
    if report:
        return (
            f"the DAG run failed in stage {report['failed_stage']}: {report['error']}\n"
            f"fix: {report['fix']}\nthe whole log: {log_file}"
        )
    tail = "\n".join(log_file.read_text(errors="replace").splitlines()[-40:])
    return f"the DAG run failed; last lines of {log_file}:\n{tail}"


def run_demo(settings: Settings, leads: int, days: int, seed: int) -> int:
    generated = ensure_data(settings, leads, days, seed)
    was_running = runtime.info(settings.sandbox_dir) is not None
    sandbox = runtime.start(settings.sandbox_dir, port=settings.sandbox_port)
    log_dir = settings.var_dir / "logs"
    log_dir.mkdir(parents=True, exist_ok=True)
    log_file = log_dir / "demo_dags_test.log"
    started = warehouse.utc_now()
    try:
        env = airflow_environment(settings, sandbox)
        with log_file.open("w") as handle:
            prepare_metadata(env, stdout=handle, stderr=subprocess.STDOUT)
            logical = logical_date_for(generated["end"])
            print(
                f"running `airflow dags test lead_scoring_hourly {logical}` (log: {log_file}) ...", flush=True
            )
            done = airflow(
                ["dags", "test", "lead_scoring_hourly", logical],
                env,
                check=False,
                stdout=handle,
                stderr=subprocess.STDOUT,
            )
    finally:
        if not was_running:
            runtime.stop(settings.sandbox_dir)
    summary_path = settings.runs_dir / "latest" / "summary.json"
    if done.returncode != 0:
        print(failure_message(settings, started, log_file), flush=True)
        return done.returncode
    summary = json.loads(summary_path.read_text())
    print("\nRun summary (runs/latest/summary.json):")
    print(format_summary(summary))
    print(
        "\nSee the scores in the CRM sandbox:\n"
        "  leadscore sandbox serve && leadscore sandbox soql "
        '"SELECT Id, Lead_Score__c, Lead_Tier__c FROM Lead LIMIT 10"'
    )
    return 0


def add_subparser(subparsers) -> None:
    demo = subparsers.add_parser("demo", help="generate data (once), start the sandbox, run the hourly DAG")
    demo.add_argument(
        "--leads",
        type=count_argument(1),
        default=5000,
        help="leads generated on the first demo (default 5000)",
    )
    demo.add_argument(
        "--days", type=count_argument(1), default=90, help="days of history generated (default 90)"
    )
    demo.add_argument("--seed", type=count_argument(0), default=42, help="random seed (default 42)")
    demo.set_defaults(func=lambda args: run_demo(load_settings(), args.leads, args.days, args.seed))
