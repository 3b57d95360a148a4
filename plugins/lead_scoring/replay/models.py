"""Replay the project's scoring models as of any past day, in a scratch DuckDB: dbt seeds and
runs ``+lead_scores`` once with a sentinel ``as_of``; each day then executes the compiled
SQL with the sentinel replaced (``create or replace view|table``), without dbt's per-invocation
parse. The backtest (``lead_scoring.backtest``) and the model's training set
(``lead_scoring.model.training_set``) both replay this way."""

from __future__ import annotations

import json
import os
import time
from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime, timedelta
from pathlib import Path
from typing import Any

import duckdb

SENTINEL_VAR = "1970-01-01T00:00:07"
SENTINEL_SQL = "'1970-01-01 00:00:07'"
TARGET_MODEL = "lead_scores"


def scoring_days(end: datetime, days: int, step_days: int) -> list[datetime]:
    """``end``, ``end - step``, ... back to ``end - days`` (inclusive), oldest first."""
    if days < 0 or step_days < 1:
        raise ValueError(f"days={days} and step_days={step_days}: use days >= 0 and step_days >= 1")
    return sorted(end - timedelta(days=k) for k in range(0, days + 1, step_days))


def invoke_dbt(
    project: Path,
    warehouse: Path,
    scratch_dir: Path,
    args: list[str],
    dbt_vars: dict[str, Any],
    as_of: str = SENTINEL_VAR,
):
    from dbt.cli.main import dbtRunner  # noqa: PLC0415 - heavy import

    os.environ.setdefault("DBT_SEND_ANONYMOUS_USAGE_STATS", "false")
    full = [
        *args,
        "--project-dir",
        str(project),
        "--profiles-dir",
        str(project),
        "--target-path",
        str(scratch_dir / "target"),
        "--log-path",
        str(scratch_dir / "logs"),
        "--vars",
        json.dumps({**dbt_vars, "as_of": as_of}),
        "--log-level",
        "error",
    ]
    # the profile reads the warehouse path from the environment: point it at the scratch file
    # for this call only (later tasks in the same process must see the real warehouse)
    previous = os.environ.get("LEADSCORE_WAREHOUSE")
    os.environ["LEADSCORE_WAREHOUSE"] = str(warehouse)
    try:
        result = dbtRunner().invoke(full)
    finally:
        if previous is None:
            os.environ.pop("LEADSCORE_WAREHOUSE", None)
        else:
            os.environ["LEADSCORE_WAREHOUSE"] = previous
    if not result.success:
        raise RuntimeError(
            f"dbt {' '.join(args)} failed for the backtest in {scratch_dir}: {result.exception}"
        )
    return result


@dataclass
class CompiledModel:
    unique_id: str
    schema: str
    alias: str
    materialized: str
    sql: str
    depends_on: list[str]


def compile_models(
    project: Path, warehouse: Path, scratch_dir: Path, dbt_vars: dict[str, Any]
) -> list[CompiledModel]:
    """Load every seed and run ``+lead_scores`` (one dbt invocation: each one parses the
    project, 10 s here); the models in dependency order."""
    result = invoke_dbt(
        project,
        warehouse,
        scratch_dir,
        [
            "build",
            "--select",
            f"+{TARGET_MODEL} resource_type:seed",
            "--resource-type",
            "seed",
            "--resource-type",
            "model",
        ],
        dbt_vars,
    )
    models: dict[str, CompiledModel] = {}
    for node_result in result.result.results:
        node = node_result.node
        if node.resource_type != "model":
            continue
        if node.config.materialized not in ("view", "table", "incremental"):
            raise RuntimeError(
                f"{node.unique_id} is materialized {node.config.materialized!r}: the backtest replays "
                "views, tables and incremental models (as tables) only"
            )
        # the scratch warehouse is new, so an incremental model compiled its full build: each
        # replayed day recomputes it whole (a day is point in time, docs/incremental.md)
        materialized = "table" if node.config.materialized == "incremental" else node.config.materialized
        models[node.unique_id] = CompiledModel(
            node.unique_id,
            node.schema,
            node.alias,
            materialized,
            node.compiled_code,
            list(node.depends_on.nodes),
        )
    ordered: list[CompiledModel] = []
    done: set[str] = set()

    def visit(uid: str) -> None:
        if uid in done or uid not in models:
            return
        done.add(uid)
        for parent in models[uid].depends_on:
            visit(parent)
        ordered.append(models[uid])

    for uid in sorted(models):
        visit(uid)
    if not any(m.alias == TARGET_MODEL for m in ordered):
        raise RuntimeError(f"dbt compile returned no {TARGET_MODEL} model")
    if not any(SENTINEL_SQL in m.sql for m in ordered):
        raise RuntimeError("the compiled models do not contain the as_of sentinel: as_of() macro changed?")
    return ordered


def score_day(con: duckdb.DuckDBPyConnection, models: list[CompiledModel], as_of: datetime) -> None:
    literal = f"'{as_of.strftime('%Y-%m-%d %H:%M:%S')}'"
    for model in models:
        kind = "view" if model.materialized == "view" else "table"
        con.execute(f'create schema if not exists "{model.schema}"')
        con.execute(
            f'create or replace {kind} "{model.schema}"."{model.alias}" as\n'
            + model.sql.replace(SENTINEL_SQL, literal)
        )


def replay_days(
    con: duckdb.DuckDBPyConnection,
    models: list[CompiledModel],
    days: list[datetime],
    collect: Callable[[duckdb.DuckDBPyConnection], None],
    label: str,
    progress: Callable[[str], None],
) -> None:
    """Score each day in turn and let ``collect`` copy what it needs from that day's tables
    before the next day replaces them; progress on the first, every 10th and the last day."""
    for i, day in enumerate(days):
        day_started = time.perf_counter()
        score_day(con, models, day)
        collect(con)
        if i == 0 or (i + 1) % 10 == 0 or i + 1 == len(days):
            progress(
                f"{label}: scored {day:%Y-%m-%d %H:%M} ({i + 1}/{len(days)}, "
                f"{time.perf_counter() - day_started:.1f} s)"
            )
