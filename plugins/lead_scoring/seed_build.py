"""The seeds (``dbt_project/seeds``: every scoring, routing and SLA knob) are loaded into the
warehouse, with their data tests, only when they changed. Loading them every hour rebuilt
twenty tables and ran their 82 tests: a third of the hourly build's dbt nodes, about 2 s of
every hour at any scale (docs/benchmark.md).

Changed means: the fingerprint of the seed files, ``dbt_project.yml`` (the seeds' settings and
column types) and dbt's version differs from the one of the last load in ``ops.seed_builds``,
that load did not pass its tests (or stopped half way), or a seed's table is missing from the
``seeds`` schema. So an edited CSV, a rollback (which writes a version's CSVs back) or a dbt
upgrade reloads them on the next run; a seed test that fails stops the run before anything is
scored, and every run loads them again until their tests pass. The hourly build
(``pipeline.HOURLY_BUILD``, the DAG's ``dbt_build``) leaves the seeds out and reads the tables
this step keeps current.
"""

from __future__ import annotations

import hashlib
import logging
from pathlib import Path

from lead_scoring import warehouse
from lead_scoring.dbt_runner import run_dbt
from lead_scoring.run_context import RunContext

log = logging.getLogger(__name__)

SEEDS_SCHEMA = "seeds"
# the seeds and their data tests (all seeds are tagged hourly; no unit test reads a seed alone)
SEED_BUILD = ["build", "--select", "resource_type:seed", "--exclude-resource-type", "unit_test"]


def fingerprint(project_dir: Path) -> str:
    """SHA-256 of every file under ``seeds/`` (name and bytes), ``dbt_project.yml`` and dbt's
    version: what decides the seed tables' contents and types."""
    from dbt.version import __version__ as dbt_version  # noqa: PLC0415 - heavy import

    digest = hashlib.sha256(f"dbt {dbt_version}\0".encode())
    seeds = sorted(path for path in (project_dir / "seeds").rglob("*") if path.is_file())
    for path in [project_dir / "dbt_project.yml", *seeds]:
        content = path.read_bytes()
        digest.update(f"{path.relative_to(project_dir).as_posix()}\0{len(content)}\0".encode())
        digest.update(content)
    return digest.hexdigest()


def why_build(con, project_dir: Path, current: str) -> str | None:
    """Why the seeds must be loaded, or None when the warehouse holds them as they are."""
    rows = con.execute(
        "select fingerprint, passed, run_id from ops.seed_builds order by started_at desc limit 1"
    ).fetchall()
    if not rows:
        return "never loaded into this warehouse"
    fingerprint_then, passed, run_id = rows[0]
    if not passed:
        return f"their last load (run {run_id}) did not finish with its tests passed"
    if fingerprint_then != current:
        return "the seed files, dbt_project.yml or dbt changed"
    missing = sorted(
        csv.stem
        for csv in (project_dir / "seeds").rglob("*.csv")
        if not warehouse.table_exists(con, SEEDS_SCHEMA, csv.stem)
    )
    if missing:
        return f"missing from the {SEEDS_SCHEMA} schema: {', '.join(missing)}"
    return None


def build_if_changed(ctx: RunContext) -> dict:
    """Load the seeds and run their data tests when they changed (``why_build``), then record
    the fingerprint; else nothing. Returns whether they were built, and why."""
    project = ctx.settings.dbt_project_dir
    current = fingerprint(project)
    with warehouse.connect(ctx.settings.warehouse) as con:
        warehouse.ensure_schema(con)
        reason = why_build(con, project, current)
        if reason is None:
            return {"seeds": "unchanged", "nodes": 0}
        # recorded as not passed first: a load whose tests fail (or that stops half way) has
        # already replaced tables, so the next run must load them again
        con.execute(
            "insert into ops.seed_builds values (?, ?, ?, ?, ?, false)",
            [current, ctx.run_id, ctx.as_of, warehouse.utc_now(), reason],
        )
    log.info("loading the seeds and their tests: %s", reason)
    nodes = run_dbt(ctx.settings, SEED_BUILD, ctx.as_of)  # raises, naming them, if any fails
    with warehouse.connect(ctx.settings.warehouse) as con:
        con.execute("update ops.seed_builds set passed = true where run_id = ? and not passed", [ctx.run_id])
    return {"seeds": "built", "reason": reason, "nodes": len(nodes)}
