"""Run dbt in-process (one process for the whole build: DuckDB takes one writer)."""

from __future__ import annotations

import logging
import os
from datetime import datetime

from lead_scoring.config import Settings

log = logging.getLogger(__name__)


class DbtBuildError(RuntimeError):
    """dbt build failed; the message names the failed nodes."""


def as_of_var(as_of: datetime) -> str:
    return as_of.strftime("%Y-%m-%dT%H:%M:%S")


def dbt_env(settings: Settings) -> None:
    """Environment the dbt profile reads (absolute warehouse path)."""
    os.environ["LEADSCORE_WAREHOUSE"] = str(settings.warehouse)
    os.environ.setdefault("DBT_SEND_ANONYMOUS_USAGE_STATS", "false")


def release_warehouse() -> None:
    """Close dbt-duckdb's process-wide DuckDB instance. dbt keeps it open after an in-process
    invocation, and with it the warehouse file's lock: another process (a read-only
    ``leadscore status`` or ``explain``, the next Airflow task) could not open the file."""
    try:
        from dbt.adapters.duckdb.connections import DuckDBConnectionManager  # noqa: PLC0415
    except ImportError:  # another adapter (the engines check): nothing held here
        return
    with DuckDBConnectionManager._LOCK:
        if DuckDBConnectionManager._ENV is not None:
            try:
                DuckDBConnectionManager._ENV.close()
            finally:
                DuckDBConnectionManager._ENV = None


def run_dbt(settings: Settings, args: list[str], as_of: datetime) -> list[dict]:
    """``dbt <args>`` with ``--vars {as_of: ...}``; returns one dict per node result."""
    from dbt.cli.main import dbtRunner  # noqa: PLC0415 - heavy import

    dbt_env(settings)
    project = str(settings.dbt_project_dir)
    full = [
        *args,
        "--project-dir",
        project,
        "--profiles-dir",
        str(settings.dbt_profiles_dir),
        "--vars",
        f"{{as_of: '{as_of_var(as_of)}'}}",
    ]
    try:
        result = dbtRunner().invoke(full)
    finally:
        release_warehouse()
    nodes = []
    if result.result is not None and hasattr(result.result, "results"):
        for node in result.result.results:
            nodes.append(
                {
                    "node": node.node.unique_id,
                    "status": str(node.status),
                    "message": node.message,
                    "execution_time": node.execution_time,
                }
            )
    if not result.success:
        failed = [n for n in nodes if n["status"] in {"error", "fail"}]
        detail = "; ".join(f"{n['node']}: {n['message']}" for n in failed[:10])
        raise DbtBuildError(
            f"dbt {' '.join(args)} failed" + (f": {detail}" if detail else f": {result.exception}")
        )
    return nodes
