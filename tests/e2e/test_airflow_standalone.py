"""`make airflow` (`leadscore airflow`): Airflow standalone serves the unpaused DAGs; the hourly
DAG triggered through the REST API runs to success against the CRM sandbox; SIGTERM stops all."""

from __future__ import annotations

import time
from datetime import datetime, timedelta, timezone

import pytest
import requests

from lead_scoring.config import load_settings
from tests.support import isolated_env

END = datetime(2026, 11, 1, 10, tzinfo=timezone.utc)
pytestmark = pytest.mark.e2e


def test_leadscore_airflow_runs_a_triggered_dag_and_sigterm_stops_everything(tmp_path, monkeypatch):
    """`leadscore airflow` (the command behind `make airflow`) on free ports: the hourly DAG,
    unpaused, runs when triggered through the REST API; SIGTERM then stops Airflow's whole
    process tree and the CRM sandbox."""
    import os
    import signal
    import subprocess
    import sys
    from pathlib import Path

    import psutil

    from crm_sandbox import runtime
    from crm_sandbox.store import load_parquet_dir
    from lead_scoring_dev import standalone
    from lead_scoring_dev.demo import ensure_data
    from lead_scoring_dev.generate.synthetic import generate

    isolated_env(tmp_path, monkeypatch)
    monkeypatch.setenv("LEADSCORE_SANDBOX_PORT", str(standalone.free_port()))
    settings = load_settings()
    generate(settings.var_dir / "generated", settings.landing, leads=300, days=30, seed=5,
             end=END.replace(tzinfo=None))  # fmt: skip
    load_parquet_dir(settings.sandbox_dir / "crm.sqlite", settings.var_dir / "generated" / "crm")
    assert ensure_data(settings, leads=5000, days=90, seed=42)["end"]  # the command will reuse them
    port = standalone.free_port()
    log_file = tmp_path / "leadscore_airflow.log"
    # no scheduled runs: only the run this test triggers
    env = {**os.environ, "AIRFLOW__SCHEDULER__USE_JOB_SCHEDULE": "False"}
    with log_file.open("w") as handle:
        process = subprocess.Popen(
            [str(Path(sys.executable).parent / "leadscore"), "airflow", "--port", str(port)],
            env=env,
            stdout=handle,
            stderr=subprocess.STDOUT,
        )
    try:
        base = f"http://localhost:{port}"
        standalone.wait_healthy(base, timeout_s=180)
        password = standalone.admin_password({"AIRFLOW_HOME": str(settings.var_dir / "airflow")})
        token = requests.post(
            f"{base}/auth/token", json={"username": "admin", "password": password}, timeout=30
        ).json()["access_token"]
        auth = {"Authorization": f"Bearer {token}"}
        deadline, dag = time.monotonic() + 120, None
        while dag is None:
            found = requests.get(f"{base}/api/v2/dags/lead_scoring_hourly", headers=auth, timeout=30)
            if found.status_code == 200:
                dag = found.json()
                break
            assert time.monotonic() < deadline, "DAG not parsed in time:\n" + log_file.read_text()[-3000:]
            time.sleep(2)
        assert dag["is_paused"] is False  # live as the docs say
        trigger = requests.post(
            f"{base}/api/v2/dags/lead_scoring_hourly/dagRuns",
            headers=auth,
            json={
                "dag_run_id": "rest_trigger",
                "logical_date": END.isoformat(),
                "data_interval_start": (END - timedelta(hours=1)).isoformat(),
                "data_interval_end": END.isoformat(),
            },
            timeout=30,
        )
        assert trigger.status_code == 200, trigger.text
        deadline, state = time.monotonic() + 420, None
        while time.monotonic() < deadline:
            state = requests.get(
                f"{base}/api/v2/dags/lead_scoring_hourly/dagRuns/rest_trigger", headers=auth, timeout=30
            ).json()["state"]
            if state in {"success", "failed"}:
                break
            time.sleep(3)
        assert state == "success", log_file.read_text()[-5000:]
        summary = (settings.runs_dir / "rest_trigger" / "summary.json").read_text()
        assert '"crm_records_written"' in summary
        tree = psutil.Process(process.pid).children(recursive=True)
        assert len(tree) >= 3  # api-server, scheduler, dag-processor, triggerer, sandbox ...
    finally:
        process.send_signal(signal.SIGTERM)
        try:
            process.wait(timeout=90)
        finally:
            if process.poll() is None:
                process.kill()
            runtime.stop(settings.sandbox_dir)
    left = [p for p in tree if p.is_running() and p.status() != psutil.STATUS_ZOMBIE]
    assert not left, [" ".join(p.cmdline()[:4]) for p in left]
    assert runtime.info(settings.sandbox_dir) is None  # the sandbox went down with it
    assert "stopping Airflow and the CRM sandbox" in log_file.read_text()
