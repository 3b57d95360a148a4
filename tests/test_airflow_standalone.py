"""`make airflow`: Airflow standalone serves the DAGs; the hourly DAG triggered through the
REST API runs to success against the CRM sandbox (bounded waits, then everything stops)."""

from __future__ import annotations

import socket
import time
from datetime import datetime, timedelta, timezone

import pytest
import requests

from conftest import isolated_env
from lead_scoring.config import load_settings

END = datetime(2026, 11, 1, 10, tzinfo=timezone.utc)
pytestmark = pytest.mark.e2e


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def test_hourly_dag_triggered_through_the_rest_api_succeeds(tmp_path, monkeypatch):
    from crm_sandbox import runtime
    from crm_sandbox.store import load_parquet_dir
    from lead_scoring_dev import standalone
    from lead_scoring_dev.generate.synthetic import generate

    isolated_env(tmp_path, monkeypatch)
    settings = load_settings()
    generate(settings.var_dir / "generated", settings.landing, leads=300, days=30, seed=5,
             end=END.replace(tzinfo=None))  # fmt: skip
    load_parquet_dir(settings.sandbox_dir / "crm.sqlite", settings.var_dir / "generated" / "crm")
    sandbox = runtime.start(settings.sandbox_dir, port=0)
    port = free_port()
    # no scheduled runs: only the run this test triggers
    env = standalone.standalone_env(
        settings, sandbox, port, {"AIRFLOW__SCHEDULER__USE_JOB_SCHEDULE": "False"}
    )
    log_file = tmp_path / "standalone.log"
    process = standalone.start(env, log_file)
    try:
        base = f"http://localhost:{port}"
        standalone.wait_healthy(base, timeout_s=180)
        token = requests.post(
            f"{base}/auth/token",
            json={"username": "admin", "password": standalone.admin_password(env)},
            timeout=30,
        ).json()["access_token"]
        auth = {"Authorization": f"Bearer {token}"}
        deadline = time.monotonic() + 120
        while (
            requests.get(f"{base}/api/v2/dags/lead_scoring_hourly", headers=auth, timeout=30).status_code
            != 200
        ):
            assert time.monotonic() < deadline, "DAG not parsed in time:\n" + log_file.read_text()[-3000:]
            time.sleep(2)
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
    finally:
        standalone.stop(process)
        runtime.stop(settings.sandbox_dir)
    assert process.poll() is not None
