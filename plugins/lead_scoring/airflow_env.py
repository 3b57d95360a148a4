"""The embedded Airflow set-up used by ``make demo`` and the end-to-end tests: an
AIRFLOW_HOME under var/, SQLite metadata, this repository's dags/, the duckdb_writer pool,
and the ``salesforce_default`` connection pointing at the local CRM sandbox."""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import sys
from pathlib import Path

from lead_scoring.config import Settings

DUCKDB_POOL = "duckdb_writer"


def airflow_environment(settings: Settings, sandbox=None) -> dict[str, str]:
    """Environment variables for an airflow subprocess (secrets only in the env, never in files)."""
    home = settings.var_dir / "airflow"
    home.mkdir(parents=True, exist_ok=True)
    venv_bin = str(Path(sys.executable).parent)
    env = {
        **os.environ,
        "PATH": venv_bin + os.pathsep + os.environ.get("PATH", ""),
        "AIRFLOW_HOME": str(home),
        "AIRFLOW__CORE__DAGS_FOLDER": str(settings.home / "dags"),
        "AIRFLOW__CORE__LOAD_EXAMPLES": "False",
        # the DAGs a demo registers are live when `make airflow` starts the scheduler
        "AIRFLOW__CORE__DAGS_ARE_PAUSED_AT_CREATION": "False",
        "AIRFLOW__CORE__PARALLELISM": "4",
        "AIRFLOW__CORE__EXECUTOR": "LocalExecutor",
        "AIRFLOW__DATABASE__SQL_ALCHEMY_CONN": f"sqlite:///{home / 'airflow.db'}",
        "AIRFLOW__COSMOS__ENABLE_TELEMETRY": "False",
        # cosmos caches dbt's partial parse per task group in /tmp/cosmos by default, shared by
        # every checkout on the machine: a stale one from another copy of the project fed dbt
        # old seed column lists. One cache per project home.
        "AIRFLOW__COSMOS__CACHE_DIR": str(settings.var_dir / "cosmos_cache"),
        "AIRFLOW__CORE__UNIT_TEST_MODE": "False",
        "LEADSCORE_HOME": str(settings.home),
        "LEADSCORE_WAREHOUSE": str(settings.warehouse),
        "LEADSCORE_LANDING": str(settings.landing),
        "LEADSCORE_RUNS": str(settings.runs_dir),
        "LEADSCORE_VAR": str(settings.var_dir),
        "LEADSCORE_SANDBOX_DIR": str(settings.sandbox_dir),
        "GX_ANALYTICS_ENABLED": "false",
        "DBT_SEND_ANONYMOUS_USAGE_STATS": "false",
    }
    # cosmos runs dbt in a fresh copy of the project per task and keeps its own target
    # folder there; a DBT_TARGET_PATH shared by all tasks makes dbt reuse a partial parse
    # that points at an earlier task's (deleted) copy.
    for name in ("DBT_TARGET_PATH", "DBT_LOG_PATH"):
        env.pop(name, None)
    if sandbox is not None:
        token = Path(sandbox.token_file).read_text().strip()
        env["AIRFLOW_CONN_SALESFORCE_DEFAULT"] = json.dumps(
            {
                "conn_type": "generic",
                "host": sandbox.url,
                "password": token,
                "extra": {"ca_bundle": str(sandbox.cert)},
            }
        )
    return env


def airflow(
    args: list[str], env: dict[str, str], check: bool = True, **kwargs
) -> subprocess.CompletedProcess:
    """Run the venv's ``airflow`` CLI with ``env`` (``kwargs`` go to ``subprocess.run``)."""
    exe = shutil.which("airflow", path=env["PATH"]) or "airflow"
    return subprocess.run([exe, *args], env=env, check=check, **kwargs)


def prepare_metadata(env: dict[str, str], **kwargs) -> None:
    """Create/upgrade the SQLite metadata DB and the one-slot DuckDB pool (idempotent).

    Two airflow CLI processes, about 20 s together: skipped when a stamp in AIRFLOW_HOME says
    this metadata database was already prepared by the installed Airflow (a new Airflow
    version or another database URL prepares again)."""
    from importlib.metadata import version  # noqa: PLC0415

    conn = env["AIRFLOW__DATABASE__SQL_ALCHEMY_CONN"]
    stamp = Path(env["AIRFLOW_HOME"]) / ".leadscore_metadata_prepared"
    expected = f"airflow {version('apache-airflow')}\n{conn}\npool {DUCKDB_POOL}\n"
    database = Path(conn.removeprefix("sqlite:///")) if conn.startswith("sqlite:///") else None
    if (database is None or database.exists()) and stamp.exists() and stamp.read_text() == expected:
        return
    airflow(["db", "migrate"], env, **kwargs)
    airflow(["pools", "set", DUCKDB_POOL, "1", "DuckDB takes one writer process"], env, **kwargs)
    stamp.write_text(expected)
