"""Run dbt in-process (one process for the whole build: DuckDB takes one writer)."""

from __future__ import annotations

import hashlib
import json
import logging
import os
import shutil
import time
from datetime import datetime
from pathlib import Path

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


def dbt_target_dir(settings: Settings, extra_vars: dict[str, str] | None = None) -> Path:
    """dbt's target folder for this warehouse, project and ``--vars``: beside the warehouse
    file, in ``.dbt/``, one per combination. dbt keeps its parsed project there
    (partial_parse.msgpack) and re-parses all of it (about 4 s) when the warehouse in the
    profile, the project folder or ``--vars`` differ from its last parse: one folder each
    keeps the hourly build, the 5-minute SLA monitor and a shadow build (another
    ``schema_prefix``) from undoing each other's parse, and a scratch warehouse's folder
    goes with it."""
    key = json.dumps([str(settings.dbt_project_dir), extra_vars or {}], sort_keys=True)
    digest = hashlib.sha1(key.encode()).hexdigest()[:10]
    return settings.warehouse.parent / ".dbt" / f"{settings.warehouse.stem}-{digest}"


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


class NodeCounter:
    """A dbt callback that logs ``dbt build: 120 of 247 nodes (9 s)`` about every tenth of
    the nodes, instead of dbt's line per node start and end (``-v`` shows those)."""

    def __init__(self, command: str) -> None:
        self.command, self.started = command, time.perf_counter()
        self.total, self.done, self.next_share = 0, 0, 0.1

    def __call__(self, event) -> None:
        name = event.info.name
        if name == "LogStartLine":  # "12 of 247 START ...": the number of nodes
            self.total = max(self.total, getattr(event.data, "total", 0))
        elif name == "NodeFinished" and self.total:
            self.done += 1
            if self.done / self.total >= self.next_share or self.done == self.total:
                self.next_share = (int(self.done / self.total * 10) + 1) / 10
                log.info(
                    "dbt %s: %d of %d nodes (%.0f s)",
                    self.command, self.done, self.total, time.perf_counter() - self.started,
                )  # fmt: skip


def full_dbt_logs() -> bool:
    """dbt's own line per node on the console: with ``-v`` (debug logging) or
    ``LEADSCORE_DBT_LOGS=full``; its file log (dbt_project/logs/dbt.log) has them always."""
    return log.isEnabledFor(logging.DEBUG) or os.environ.get("LEADSCORE_DBT_LOGS", "").lower() == "full"


def run_dbt(
    settings: Settings, args: list[str], as_of: datetime, extra_vars: dict[str, str] | None = None
) -> list[dict]:
    """``dbt <args>`` as of ``as_of`` (``LEADSCORE_AS_OF``, read by macros/as_of.sql) with
    ``--vars extra_vars``; returns one dict per node result. The console gets a node counter
    and dbt's warnings and errors (``full_dbt_logs`` for all).

    as_of is an environment variable, not a ``--vars`` entry: dbt re-parses the whole
    project when ``--vars`` change, and as_of changes every run; the macro reads the
    variable only when executing, so dbt's partial parsing never sees it change."""
    from dbt.cli.main import dbtRunner  # noqa: PLC0415 - heavy import

    dbt_env(settings)
    os.environ["LEADSCORE_AS_OF"] = as_of_var(as_of)
    project = str(settings.dbt_project_dir)
    quiet = not full_dbt_logs()
    full = [
        *(["--log-level", "warn"] if quiet else []),
        *args,
        "--project-dir",
        project,
        "--profiles-dir",
        str(settings.dbt_profiles_dir),
        *([] if "--target-path" in args else ["--target-path", str(dbt_target_dir(settings, extra_vars))]),
        *(["--vars", json.dumps(extra_vars)] if extra_vars else []),
    ]
    try:
        result = dbtRunner(callbacks=[NodeCounter(args[0])] if quiet else []).invoke(full)
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


def candidate_project(settings: Settings, seeds_dir: Path, project: Path, name: str = "candidate") -> Path:
    """A copy of the dbt project at ``project`` whose seeds are replaced by the CSVs of
    ``seeds_dir`` (edited copies of existing seeds: a backtest's or a shadow's candidate)."""
    if project.exists():
        shutil.rmtree(project)
    shutil.copytree(
        settings.dbt_project_dir, project, ignore=shutil.ignore_patterns("target", "logs", "dbt_packages")
    )
    replaced = []
    for csv in sorted(seeds_dir.glob("*.csv")):
        if not (project / "seeds" / csv.name).exists():
            raise FileNotFoundError(
                f"candidate seed {csv} has no counterpart in {settings.dbt_project_dir / 'seeds'}: "
                "a candidate folder holds edited copies of existing seeds"
            )
        shutil.copy(csv, project / "seeds" / csv.name)
        replaced.append(csv.name)
    if not replaced:
        raise FileNotFoundError(f"no CSV in the candidate seed folder {seeds_dir}")
    log.info("%s: seeds replaced from %s: %s", name, seeds_dir, replaced)
    return project
