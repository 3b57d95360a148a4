"""``make airflow`` / ``leadscore airflow``: Airflow standalone on localhost (SQLite metadata,
LocalExecutor with parallelism for 2 cores), with the CRM sandbox and the
``salesforce_default`` connection preconfigured. Ctrl-C stops everything it started."""

from __future__ import annotations

import contextlib
import json
import signal
import socket
import subprocess
import time
from pathlib import Path

import requests

from crm_sandbox import runtime
from lead_scoring.airflow_env import airflow_environment, prepare_metadata
from lead_scoring.config import Settings
from lead_scoring_dev.demo import ensure_data


def free_port() -> int:
    """A TCP port nothing listens on now (the kernel's pick)."""
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return probe.getsockname()[1]


def _stop_on_sigterm(signum, frame) -> None:
    """SIGTERM (``kill``, a service manager) stops like Ctrl-C: Airflow's process tree and
    the sandbox go down with it instead of being left running."""
    raise KeyboardInterrupt


def standalone_env(
    settings: Settings, sandbox, port: int, extra: dict[str, str] | None = None
) -> dict[str, str]:
    env = airflow_environment(settings, sandbox)
    env.update(
        {
            "AIRFLOW__API__HOST": "127.0.0.1",
            "AIRFLOW__API__PORT": str(port),
            "AIRFLOW__API__BASE_URL": f"http://localhost:{port}",
            "AIRFLOW__CORE__PARALLELISM": "4",
            "AIRFLOW__CORE__MAX_ACTIVE_TASKS_PER_DAG": "4",
            # the log servers of the scheduler's workers and of the triggerer (8793/8794 by
            # default) on free ports, so this Airflow starts beside another one
            "AIRFLOW__LOGGING__WORKER_LOG_SERVER_PORT": str(free_port()),
            "AIRFLOW__LOGGING__TRIGGER_LOG_SERVER_PORT": str(free_port()),
            **(extra or {}),
        }
    )
    return env


def start(env: dict[str, str], log_file: Path) -> subprocess.Popen:
    """``airflow standalone`` in its own process group (so it can be stopped as a whole)."""
    prepare_metadata(env, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    handle = log_file.open("a")
    return subprocess.Popen(
        ["airflow", "standalone"], env=env, stdout=handle, stderr=subprocess.STDOUT, start_new_session=True
    )


def stop(process: subprocess.Popen, timeout_s: float = 30) -> None:
    """Terminate standalone and every process it started (the api-server runs in a session
    of its own, so the process group alone is not enough), then kill what is left."""
    import psutil  # noqa: PLC0415 - an Airflow dependency

    try:
        parent = psutil.Process(process.pid)
        tree = [*parent.children(recursive=True), parent]
    except psutil.NoSuchProcess:
        return
    for member in tree:
        with contextlib.suppress(psutil.NoSuchProcess):
            member.send_signal(signal.SIGTERM)
    _, alive = psutil.wait_procs(tree, timeout=timeout_s)
    for member in alive:
        with contextlib.suppress(psutil.NoSuchProcess):
            member.kill()
    process.wait()


def admin_password(env: dict[str, str], timeout_s: float = 120) -> str:
    """The generated admin password (SimpleAuthManager writes it on first start)."""
    path = Path(env["AIRFLOW_HOME"]) / "simple_auth_manager_passwords.json.generated"
    deadline = time.monotonic() + timeout_s
    while time.monotonic() < deadline:
        if path.exists() and path.read_text().strip():
            return json.loads(path.read_text())["admin"]
        time.sleep(1)
    raise TimeoutError(f"{path} did not appear within {timeout_s:.0f}s")


def wait_healthy(base_url: str, timeout_s: float = 180) -> None:
    deadline = time.monotonic() + timeout_s
    while time.monotonic() < deadline:
        try:
            if requests.get(f"{base_url}/api/v2/monitor/health", timeout=5).status_code == 200:
                return
        except requests.RequestException:
            pass
        time.sleep(2)
    raise TimeoutError(f"Airflow at {base_url} not healthy within {timeout_s:.0f}s")


def run_standalone(settings: Settings, port: int = 8080) -> int:
    ensure_data(settings, leads=5000, days=90, seed=42)
    sandbox = runtime.start(settings.sandbox_dir, port=settings.sandbox_port)
    env = standalone_env(settings, sandbox, port)
    log_file = settings.var_dir / "logs" / "airflow_standalone.log"
    log_file.parent.mkdir(parents=True, exist_ok=True)
    process = start(env, log_file)
    signal.signal(signal.SIGTERM, _stop_on_sigterm)
    try:
        base = f"http://localhost:{port}"
        wait_healthy(base)
        print(f"Airflow is up at {base}  (user admin, password {admin_password(env)})")
        print(f"CRM sandbox at {sandbox.url}; logs in {log_file}. Ctrl-C stops everything.", flush=True)
        process.wait()
    except KeyboardInterrupt:
        print("\nstopping Airflow and the CRM sandbox ...")
    finally:
        stop(process)
        runtime.stop(settings.sandbox_dir)
    return 0
