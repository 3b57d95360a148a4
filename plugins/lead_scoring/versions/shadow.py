"""Shadow scoring: a challenger's seeds scored every hour beside the champion, never written
to the CRM (docs/scoring.md, "Shadow scoring").

``leadscore shadow start --candidate-seeds DIR --reason`` keeps the candidate's seed files in
``ops.shadow_files``; while it is active each hourly run (``pipeline.shadow_score``, after the
write-back) builds ``+lead_scores`` from a copy of the dbt project with those seeds, into the
schemas ``shadow_seeds``, ``shadow_staging``, ``shadow_intermediate`` and ``shadow_marts``
(the dbt var ``schema_prefix``), from the same raw tables and as of the same instant, and
compares: ``marts.lead_scores_shadow`` has every person's champion and challenger score, tier
and reasons. ``leadscore shadow status`` says who would change tier and why. Only the
champion reaches the CRM.
"""

from __future__ import annotations

import logging
from dataclasses import replace
from datetime import datetime
from pathlib import Path

import duckdb

from lead_scoring import warehouse
from lead_scoring.config import Settings, UserError
from lead_scoring.dbt_runner import candidate_project, run_dbt
from lead_scoring.run_context import RunContext
from lead_scoring.versions.store import SCORING_SEEDS, who

log = logging.getLogger(__name__)

PREFIX = "shadow_"
COMPARISON = "marts.lead_scores_shadow"


def ensure_tables(con: duckdb.DuckDBPyConnection) -> None:
    con.execute("create schema if not exists ops")
    con.execute(
        "create table if not exists ops.shadows (shadow_id varchar primary key, started_at timestamp, "
        "started_by varchar, reason varchar, seeds varchar, status varchar, stopped_at timestamp)"
    )
    con.execute(
        "create table if not exists ops.shadow_files (shadow_id varchar, seed varchar, content varchar, "
        "primary key (shadow_id, seed))"
    )


def active(con: duckdb.DuckDBPyConnection) -> dict | None:
    return active_row(con, "shadows")


def active_row(con: duckdb.DuckDBPyConnection, table: str) -> dict | None:
    """The active row of ``ops.<table>`` (shadows, pilots), or None (also without the table)."""
    if not warehouse.table_exists(con, "ops", table):
        return None
    rows = warehouse.fetch_dicts(con, f"select * from ops.{table} where status = 'active'")
    return rows[0] if rows else None


def candidate_files(seeds_dir: Path) -> dict[str, str]:
    """The candidate's scoring seeds (CSV text by seed name); a clear error for anything else."""
    if not seeds_dir.is_dir():
        raise UserError(f"--candidate-seeds {seeds_dir}: not a folder")
    files = {path.stem: path.read_text(encoding="utf-8") for path in sorted(seeds_dir.glob("*.csv"))}
    if not files:
        raise UserError(f"--candidate-seeds {seeds_dir}: no CSV in it (edited copies of dbt_project/seeds/)")
    other = sorted(set(files) - set(SCORING_SEEDS))
    if other:
        raise UserError(
            f"--candidate-seeds {seeds_dir}: {', '.join(f'{o}.csv' for o in other)} is not a scoring seed; "
            f"a challenger changes only {', '.join(f'{s}.csv' for s in SCORING_SEEDS)}"
        )
    return files


def start(con: duckdb.DuckDBPyConnection, seeds_dir: Path, reason: str, at: datetime) -> dict:
    if not reason.strip():
        raise UserError("a shadow needs a reason: --reason 'what the challenger changes and why'")
    files = candidate_files(seeds_dir)
    ensure_tables(con)
    running = active(con)
    if running is not None:
        raise UserError(f"shadow {running['shadow_id']} is active: `leadscore shadow stop` it first")
    pilot = active_row(con, "pilots")
    if pilot is not None:
        raise UserError(f"pilot {pilot['pilot_id']} is active: `leadscore pilot stop --reason ...` it first")
    number = con.execute("select count(*) + 1 from ops.shadows").fetchall()[0][0]
    shadow_id = f"s{number}"
    con.execute(
        "insert into ops.shadows values (?, ?, ?, ?, ?, 'active', null)",
        [shadow_id, at, who(), reason.strip(), ", ".join(sorted(files))],
    )
    for seed, content in files.items():
        con.execute("insert into ops.shadow_files values (?, ?, ?)", [shadow_id, seed, content])
    return {"shadow_id": shadow_id, "seeds": sorted(files), "reason": reason.strip()}


def stop(con: duckdb.DuckDBPyConnection, at: datetime) -> dict:
    """End the active shadow and drop its schemas and comparison (its record stays)."""
    running = active(con)
    if running is None:
        raise UserError("no shadow is active")
    con.execute(
        "update ops.shadows set status = 'stopped', stopped_at = ? where shadow_id = ?",
        [at, running["shadow_id"]],
    )
    dropped = drop_shadow_tables(con)
    return {"shadow_id": running["shadow_id"], "dropped_schemas": dropped}


def drop_shadow_tables(con: duckdb.DuckDBPyConnection, prefix: str = PREFIX) -> list[str]:
    """Drop the challenger's schemas (``prefix``*) and the shadow comparison."""
    schemas = [
        r[0]
        for r in con.execute(
            "select distinct schema_name from information_schema.schemata where schema_name like ?",
            [prefix + "%"],
        ).fetchall()
    ]
    for schema in schemas:
        con.execute(f'drop schema if exists "{schema}" cascade')
    con.execute(f"drop table if exists {COMPARISON}")
    return schemas


COMPARE_SQL = f"""
create or replace table {COMPARISON} as
select
    champion.crm_id,
    champion.crm_object,
    champion.composite_score as champion_score,
    challenger.composite_score as challenger_score,
    champion.tier as champion_tier,
    challenger.tier as challenger_tier,
    champion.score_reasons as champion_reasons,
    challenger.score_reasons as challenger_reasons,
    challenger.scoring_model_version as challenger_version,
    ? as shadow_id,
    champion.scored_at
from marts.lead_scores as champion
inner join {PREFIX}marts.lead_scores as challenger
    on champion.crm_id = challenger.crm_id
"""


def active_candidate(settings: Settings, table: str) -> tuple[dict | None, dict[str, str]]:
    """The active row of ``ops.<table>`` (shadows, pilots) and its candidate seed files
    (``ops.shadow_files``, ``ops.pilot_files``: seed name -> CSV text); (None, {}) without one."""
    kind = table.removesuffix("s")
    with warehouse.connect(settings.warehouse) as con:
        running = active_row(con, table)
        if running is None:
            return None, {}
        rows = con.execute(
            f"select seed, content from ops.{kind}_files where {kind}_id = ?", [running[f"{kind}_id"]]
        ).fetchall()
    return running, dict(rows)


def score_challenger(
    settings: Settings, label: str, files: dict[str, str], folder: Path, dbt_vars: dict, as_of: datetime
) -> None:
    """``dbt build +lead_scores`` of a challenger as of ``as_of`` into the schemas ``dbt_vars``'
    ``schema_prefix`` names: from a copy of the project under ``folder`` with the candidate
    seed ``files`` (seed name -> CSV text), or from the project itself when there are none (a
    model challenger, pinned by the var ``predictive_model_version``). Shared by the shadow and
    the pilot (versions/pilot.py)."""
    project = settings.dbt_project_dir
    if files:
        seeds = folder / "seeds"
        seeds.mkdir(parents=True, exist_ok=True)
        for seed, content in files.items():
            (seeds / f"{seed}.csv").write_text(content, encoding="utf-8")
        project = candidate_project(settings, seeds, folder / "dbt_project", label)
    nodes = run_dbt(
        replace(settings, dbt_project_dir=project),
        ["build", "--select", "+lead_scores",
         "--exclude-resource-type", "test", "--exclude-resource-type", "unit_test"],
        as_of,
        dbt_vars,
    )  # fmt: skip
    failed = [n["node"] for n in nodes if n["status"] in {"error", "fail"}]
    if failed:
        raise RuntimeError(f"{label}: dbt failed on {', '.join(failed[:3])}")


def build(ctx: RunContext) -> dict:
    """The active shadow's challenger scored as of the run, and compared (a no-op without one)."""
    settings = ctx.settings
    running, files = active_candidate(settings, "shadows")
    if running is None:
        return {"active": False}
    score_challenger(
        settings, f"shadow {running['shadow_id']}", files, settings.var_dir / "shadow" / running["shadow_id"],
        {"schema_prefix": PREFIX}, ctx.as_of,
    )  # fmt: skip
    with warehouse.connect(settings.warehouse) as con:
        con.execute(COMPARE_SQL, [running["shadow_id"]])
        people, moved = con.execute(
            f"select count(*), count(*) filter (where champion_tier <> challenger_tier) from {COMPARISON}"
        ).fetchall()[0]
    log.info("shadow %s: %d people scored, %d would change tier", running["shadow_id"], people, moved)
    return {"active": True, "shadow_id": running["shadow_id"], "people": people, "tier_changes": moved}


def status(con: duckdb.DuckDBPyConnection, limit: int = 10) -> dict:
    """The active shadow, the tier moves it would make (champion → challenger) and the
    largest moves with both reasons."""
    running = active(con)
    if running is None:
        return {"active": False}
    result: dict = {
        "active": True,
        **{k: running[k] for k in ("shadow_id", "started_at", "started_by", "reason", "seeds")},
    }
    if not warehouse.table_exists(con, "marts", "lead_scores_shadow"):
        return {**result, "compared": False}
    summary = con.execute(
        f"select count(*), max(scored_at), avg(challenger_score - champion_score), "
        f"count(*) filter (where champion_tier <> challenger_tier) from {COMPARISON}"
    ).fetchall()[0]
    moves = warehouse.fetch_dicts(
        con,
        "select champion_tier as from_tier, challenger_tier as to_tier, count(*) as people "
        f"from {COMPARISON} where champion_tier <> challenger_tier group by 1, 2 order by 3 desc, 1, 2",
    )
    largest = warehouse.fetch_dicts(
        con,
        f"select crm_id, champion_score, challenger_score, champion_tier, challenger_tier, champion_reasons, "
        f"challenger_reasons from {COMPARISON} where champion_score <> challenger_score "
        "order by abs(challenger_score - champion_score) desc, crm_id limit ?",
        [limit],
    )
    return {
        **result,
        "compared": True,
        "scored_at": summary[1],
        "people": summary[0],
        "mean_score_change": summary[2],
        "tier_changes": summary[3],
        "tier_moves": moves,
        "largest_moves": largest,
    }
