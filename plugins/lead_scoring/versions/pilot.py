"""The live A/B pilot: a challenger (candidate seeds or a model version) decides the scores of
a random share of the people, the champion the rest, and ``reporting.rpt_pilot`` says whether
it converts better (docs/scoring.md, "Pilot").

``leadscore pilot start`` records the pilot in ``ops.pilots`` (the candidate's seed files in
``ops.pilot_files``). While it is active each run goes through two stages, the same functions
for ``leadscore run`` and the hourly DAG (``pipeline.pilot_prepare`` / ``pilot_record``):

1. ``prepare``, before the champion's dbt build: the challenger's ``+lead_scores`` built as of
   the run into ``pilot_seeds``, ``pilot_staging``, ... ``pilot_marts`` (the shadow's
   ``score_challenger``, the dbt var ``schema_prefix``), then every person not yet assigned
   gets an arm in ``ops.pilot_assignments``: ``challenger`` when md5(pilot id, person_key)
   falls under the share, else ``champion``. A row is never updated, so a person never changes
   arm, re-running an hour assigns nothing twice, and records of one person (same person_key)
   share its arm. ``--population new`` first records everyone scored at the start as
   ``before_pilot`` (not in the pilot).
2. The champion's build: ``lead_scores`` takes a challenger-arm person's row from
   ``pilot_marts.lead_scores`` (macro ``pilot_challenger``), so its tier, routing, SLA and CRM
   payload are the challenger's; both scores are in its pilot columns.
3. ``record``, after the write-back: both scores per member and run into ``ops.pilot_scores``
   (delete-then-insert of the run's rows), and ``reporting.rpt_pilot`` recomputed.
"""

from __future__ import annotations

import hashlib
import logging
from datetime import datetime
from pathlib import Path

import duckdb
import pandas as pd

from lead_scoring import warehouse
from lead_scoring.config import Settings, UserError
from lead_scoring.run_context import RunContext
from lead_scoring.versions import pilot_stats, shadow, store

log = logging.getLogger(__name__)

PREFIX = "pilot_"
REPORT = "reporting.rpt_pilot"
# Opportunities count when created within this many days after the person joined the pilot
# (the learned model's label horizon).
HORIZON_DAYS = 30
ARMS = ("champion", "challenger")


def ensure_tables(con: duckdb.DuckDBPyConnection) -> None:
    con.execute("create schema if not exists ops")
    con.execute(
        "create table if not exists ops.pilots (pilot_id varchar primary key, started_at timestamp, "
        "started_by varchar, reason varchar, candidate_kind varchar, candidate varchar, share double, "
        "population varchar, min_days double, alpha double, power double, min_lift double, "
        "horizon_days integer, status varchar, stopped_at timestamp, stop_reason varchar, "
        "promoted_version varchar)"
    )
    con.execute(
        "create table if not exists ops.pilot_files (pilot_id varchar, seed varchar, content varchar, "
        "primary key (pilot_id, seed))"
    )
    con.execute(
        "create table if not exists ops.pilot_assignments (pilot_id varchar, crm_id varchar, "
        "person_key varchar, arm varchar, assigned_at timestamp, primary key (pilot_id, crm_id))"
    )
    con.execute(
        "create table if not exists ops.pilot_scores (pilot_id varchar, crm_id varchar, arm varchar, "
        "champion_score double, champion_tier integer, challenger_score double, challenger_tier integer, "
        "composite_score double, tier integer, is_mql boolean, scored_at timestamp, "
        "primary key (pilot_id, crm_id, scored_at))"
    )


def active(con: duckdb.DuckDBPyConnection) -> dict | None:
    return shadow.active_row(con, "pilots")


def arm_of(pilot_id: str, person_key: str, share: float) -> str:
    """The arm of a person: the first 8 hex digits of md5("<pilot>:<person_key>") as a
    fraction of 2^32, under ``share`` -> challenger. md5 of the text is the same on every
    machine and version (DuckDB's ``hash()`` is not promised to be)."""
    digest = hashlib.md5(f"{pilot_id}:{person_key}".encode(), usedforsecurity=False).hexdigest()
    return "challenger" if int(digest[:8], 16) / 2**32 < share else "champion"


def check_options(share: float, min_days: float, alpha: float, power: float, min_lift: float) -> None:
    if not 0 < share < 1:
        raise UserError(
            f"--share {share:g}: the challenger's share of the people, between 0 and 1 (e.g. 0.2)"
        )
    if min_days < 0:
        raise UserError(f"--min-days {min_days:g}: days before a verdict, 0 or more")
    if not 0 < alpha < 0.5:
        raise UserError(f"--alpha {alpha:g}: the significance level, between 0 and 0.5 (e.g. 0.05)")
    if not 0.5 <= power < 1:
        raise UserError(f"--power {power:g}: the chance to detect the effect, from 0.5 to below 1 (e.g. 0.8)")
    if min_lift <= 0:
        raise UserError(f"--min-lift {min_lift:g}: the relative change worth detecting, above 0 (e.g. 0.2)")


def candidate(
    con: duckdb.DuckDBPyConnection, live_seeds: Path, seeds_dir: Path | None, model_version: str | None
) -> tuple[str, str, dict[str, str]]:
    """(kind, what, seed files) of the challenger; a clear error when it is missing, both, bad,
    or the champion itself."""
    if (seeds_dir is None) == (model_version is None):
        raise UserError("a pilot needs one challenger: --candidate-seeds DIR or --candidate-model VERSION")
    live = store.current_configuration(live_seeds, con)
    if seeds_dir is not None:
        files = shadow.candidate_files(seeds_dir)
        if all(live.files.get(seed) == content for seed, content in files.items()):
            raise UserError(
                f"--candidate-seeds {seeds_dir}: every seed in it equals the live one; nothing to test"
            )
        return "seeds", ", ".join(sorted(files)), files
    known = (
        warehouse.table_exists(con, "ops", "model_versions")
        and con.execute("select 1 from ops.model_versions where version_id = ?", [model_version]).fetchall()
    )
    if not known:
        raise UserError(f"--candidate-model {model_version}: no such version (see `leadscore model list`)")
    if model_version == live.model_version:
        raise UserError(f"--candidate-model {model_version} is the promoted model, the champion itself")
    return "model", model_version, {}


def start(
    con: duckdb.DuckDBPyConnection,
    live_seeds: Path,
    *,
    seeds_dir: Path | None,
    model_version: str | None,
    share: float,
    population: str,
    min_days: float,
    alpha: float,
    power: float,
    min_lift: float,
    reason: str,
    at: datetime,
) -> dict:
    if not reason.strip():
        raise UserError("a pilot needs a reason: --reason 'what the challenger changes and why'")
    if population not in ("new", "all"):
        raise UserError(f"--population {population}: new or all")
    check_options(share, min_days, alpha, power, min_lift)
    ensure_tables(con)
    running = active(con)
    if running is not None:
        raise UserError(
            f"pilot {running['pilot_id']} is active: `leadscore pilot stop --reason ...` it first"
        )
    running_shadow = shadow.active(con)
    if running_shadow is not None:
        raise UserError(
            f"shadow {running_shadow['shadow_id']} is active: `leadscore shadow stop` it first "
            "(one challenger at a time)"
        )
    kind, what, files = candidate(con, live_seeds, seeds_dir, model_version)
    pilot_id = f"p{con.execute('select count(*) + 1 from ops.pilots').fetchall()[0][0]}"
    con.execute("begin")
    con.execute(
        "insert into ops.pilots values (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, 'active', null, null, null)",
        [pilot_id, at, store.who(), reason.strip(), kind, what, share, population, min_days, alpha, power,
         min_lift, HORIZON_DAYS],
    )  # fmt: skip
    for seed, content in files.items():
        con.execute("insert into ops.pilot_files values (?, ?, ?)", [pilot_id, seed, content])
    before = 0
    if population == "new" and warehouse.table_exists(con, "marts", "lead_scores"):
        # everyone scored now was seen before the pilot: never a member
        con.execute(
            "insert into ops.pilot_assignments select ?, crm_id, coalesce(person_key, crm_id), "
            "'before_pilot', scored_at from marts.lead_scores",
            [pilot_id],
        )
        before = con.execute(
            "select count(*) from ops.pilot_assignments where pilot_id = ?", [pilot_id]
        ).fetchall()[0][0]
    con.execute("commit")
    return {
        "pilot_id": pilot_id,
        "candidate_kind": kind,
        "candidate": what,
        "share": share,
        "population": population,
        "people_before_pilot": before,
        "reason": reason.strip(),
    }


def stop(con: duckdb.DuckDBPyConnection, live_seeds: Path, promote: bool, reason: str, at: datetime) -> dict:
    """End the active pilot (its assignments, ledger and report stay; the challenger's schemas
    go). With ``promote``, the challenger's seeds or model become live through the versions
    machinery (a new row of ``ops.scoring_versions``)."""
    if not reason.strip():
        raise UserError("stopping a pilot needs a reason: --reason 'the verdict and the decision'")
    running = active(con)
    if running is None:
        raise UserError("no pilot is active")
    pilot_id = running["pilot_id"]
    promoted = None
    if promote:
        if running["candidate_kind"] == "seeds":
            files = dict(
                con.execute(
                    "select seed, content from ops.pilot_files where pilot_id = ?", [pilot_id]
                ).fetchall()
            )
            store.write_seed_files(live_seeds, files)
        else:
            store.set_promoted_model(con, running["candidate"], at)
        version, _ = store.record(
            con,
            store.current_configuration(live_seeds, con),
            f"pilot {pilot_id} promoted: {reason.strip()}",
            "pilot",
        )
        promoted = version["version_id"]
    con.execute(
        "update ops.pilots set status = 'stopped', stopped_at = ?, stop_reason = ?, promoted_version = ? "
        "where pilot_id = ?",
        [at, reason.strip(), promoted, pilot_id],
    )
    dropped = shadow.drop_shadow_tables(con, PREFIX)
    return {"pilot_id": pilot_id, "promoted_version": promoted, "dropped_schemas": dropped}


def prepare(ctx: RunContext) -> dict:
    """Before the champion's build: the challenger scored as of the run, and the people not
    yet assigned given their arm (a no-op without an active pilot)."""
    settings = ctx.settings
    running, files = shadow.active_candidate(settings, "pilots")
    if running is None:
        return {"active": False}
    pilot_id = running["pilot_id"]
    dbt_vars = {"schema_prefix": PREFIX}
    if running["candidate_kind"] == "model":
        dbt_vars["predictive_model_version"] = running["candidate"]
    shadow.score_challenger(
        settings, f"pilot {pilot_id}", files, settings.var_dir / "pilot" / pilot_id, dbt_vars, ctx.as_of
    )
    with warehouse.connect(settings.warehouse) as con:
        assigned = assign(con, running, ctx.as_of)
        counts = dict(
            con.execute(
                "select arm, count(*) from ops.pilot_assignments where pilot_id = ? group by arm", [pilot_id]
            ).fetchall()
        )
    log.info("pilot %s: %d people newly assigned; arms %s", pilot_id, assigned, counts)
    return {"active": True, "pilot_id": pilot_id, "newly_assigned": assigned, "arms": counts}


def assign(con: duckdb.DuckDBPyConnection, pilot: dict, as_of: datetime) -> int:
    """Arms for the challenger-scored people without one: the arm their person_key already has
    in this pilot, else the hash's. Inserts only; returns how many."""
    pilot_id = pilot["pilot_id"]
    people = con.execute(
        f"select crm_id, coalesce(person_key, crm_id) from {PREFIX}marts.lead_scores "
        "where crm_id not in (select crm_id from ops.pilot_assignments where pilot_id = ?) order by crm_id",
        [pilot_id],
    ).fetchall()
    if not people:
        return 0
    known = dict(
        con.execute(
            "select person_key, min(arm) from ops.pilot_assignments where pilot_id = ? group by person_key",
            [pilot_id],
        ).fetchall()
    )
    frame = pd.DataFrame(
        [
            (pilot_id, crm_id, key, known.get(key) or arm_of(pilot_id, key, pilot["share"]), as_of)
            for crm_id, key in people
        ],
        columns=["pilot_id", "crm_id", "person_key", "arm", "assigned_at"],
    )
    con.register("new_assignments", frame)
    try:
        con.execute("insert into ops.pilot_assignments select * from new_assignments")
    finally:
        con.unregister("new_assignments")
    return len(frame)


def record(ctx: RunContext) -> dict:
    """After the champion's build: both scores of every member as of the run into
    ``ops.pilot_scores`` (the run's rows replaced), then ``reporting.rpt_pilot``."""
    with warehouse.connect(ctx.settings.warehouse) as con:
        running = active(con)
        if running is None:
            return {"active": False}
        pilot_id = running["pilot_id"]
        con.execute("begin")
        con.execute(
            "delete from ops.pilot_scores where pilot_id = ? and scored_at = ?", [pilot_id, ctx.as_of]
        )
        con.execute(
            "insert into ops.pilot_scores select pilot_id, crm_id, pilot_arm, champion_composite_score, "
            "champion_tier, challenger_composite_score, challenger_tier, composite_score, tier, is_mql, "
            "scored_at from marts.lead_scores where pilot_id = ? and scored_at = ?",
            [pilot_id, ctx.as_of],
        )
        con.execute("commit")
        rows = write_report(con, running, ctx.as_of)
    return {"active": True, "pilot_id": pilot_id, "arms": {r["arm"]: r["leads"] for r in rows},
            "verdict": rows[0]["verdict"] if rows else None}  # fmt: skip


ARM_OUTCOMES_SQL = """
with members as (
    select crm_id, arm, assigned_at
    from ops.pilot_assignments
    where pilot_id = $pilot and arm in ('champion', 'challenger')
),
person_opportunities as (
    select leads.lead_id as crm_id, opportunities.created_at
    from staging.stg_salesforce__leads as leads
    inner join staging.stg_salesforce__opportunities as opportunities
        on leads.converted_opportunity_id = opportunities.opportunity_id
    union all
    select contact_id as crm_id, created_at
    from staging.stg_salesforce__opportunities
    where contact_id is not null
),
converted as (
    select distinct members.crm_id
    from members
    inner join person_opportunities on members.crm_id = person_opportunities.crm_id
    where person_opportunities.created_at >= members.assigned_at
        and person_opportunities.created_at < members.assigned_at + to_days($horizon)
        and person_opportunities.created_at <= $as_of
),
mqls as (
    select distinct crm_id from ops.pilot_scores where pilot_id = $pilot and is_mql
)
select
    members.arm,
    count(*) as leads,
    count(mqls.crm_id) as mqls,
    count(converted.crm_id) as opportunities,
    count(*) filter (
        where members.assigned_at > (select min(assigned_at) from members)
    ) as leads_after_first_run,
    median(sla.minutes_to_first_response) as median_minutes_to_first_response,
    count(*) filter (where sla.sla_status = 'met') as sla_met,
    count(*) filter (where sla.sla_status = 'breached') as sla_breached
from members
left join mqls on members.crm_id = mqls.crm_id
left join converted on members.crm_id = converted.crm_id
left join marts.lead_sla as sla on members.crm_id = sla.crm_id
group by members.arm
"""


def arm_rows(con: duckdb.DuckDBPyConnection, pilot: dict, as_of: datetime) -> list[dict]:
    """One row per arm with its counts, rates and interval, and the comparison (the same on
    both rows): what ``reporting.rpt_pilot`` holds."""
    has_sla = warehouse.table_exists(con, "marts", "lead_sla")
    sql = ARM_OUTCOMES_SQL if has_sla else ARM_OUTCOMES_SQL.replace(
        "left join marts.lead_sla as sla on members.crm_id = sla.crm_id",
        "left join (select null as crm_id, null::double as minutes_to_first_response, null as sla_status) "
        "as sla on false",
    )  # fmt: skip
    counts = {
        r["arm"]: r
        for r in warehouse.fetch_dicts(
            con, sql, {"pilot": pilot["pilot_id"], "horizon": pilot["horizon_days"], "as_of": as_of}
        )
    }
    first = con.execute(
        "select min(assigned_at) from ops.pilot_assignments "
        "where pilot_id = ? and arm in ('champion', 'challenger')",
        [pilot["pilot_id"]],
    ).fetchall()[0][0]
    days_run = max(0.0, (as_of - first).total_seconds() / 86400) if first else 0.0
    a = counts.get("champion") or {"leads": 0, "opportunities": 0, "leads_after_first_run": 0}
    b = counts.get("challenger") or {"leads": 0, "opportunities": 0, "leads_after_first_run": 0}
    new_leads = a["leads_after_first_run"] + b["leads_after_first_run"]
    comparison = pilot_stats.compare(
        a["opportunities"], a["leads"], b["opportunities"], b["leads"],
        share=pilot["share"], alpha=pilot["alpha"], power=pilot["power"], min_lift=pilot["min_lift"],
        days_run=days_run, min_days=pilot["min_days"],
        leads_per_day=new_leads / days_run if days_run > 0 and new_leads else None,
    )  # fmt: skip
    total = a["leads"] + b["leads"]
    rows = []
    for arm in ARMS:
        row = counts.get(arm)
        if row is None:
            continue
        low, high = pilot_stats.wilson_interval(row["opportunities"], row["leads"])
        closed = row["sla_met"] + row["sla_breached"]
        rows.append(
            {
                "pilot_id": pilot["pilot_id"],
                "arm": arm,
                "planned_share": pilot["share"] if arm == "challenger" else 1 - pilot["share"],
                "leads": row["leads"],
                "lead_share": row["leads"] / total,
                "mqls": row["mqls"],
                "opportunities": row["opportunities"],
                "conversion_rate": row["opportunities"] / row["leads"],
                "conversion_rate_low": low,
                "conversion_rate_high": high,
                "median_minutes_to_first_response": row["median_minutes_to_first_response"],
                "sla_met": row["sla_met"],
                "sla_breached": row["sla_breached"],
                "sla_compliance": row["sla_met"] / closed if closed else None,
                **pilot_stats.as_dict(comparison),
                "days_run": days_run,
                "min_days": pilot["min_days"],
                "alpha": pilot["alpha"],
                "power": pilot["power"],
                "min_lift": pilot["min_lift"],
                "horizon_days": pilot["horizon_days"],
                "as_of": as_of,
            }
        )
    return rows


def write_report(con: duckdb.DuckDBPyConnection, pilot: dict, as_of: datetime) -> list[dict]:
    rows = arm_rows(con, pilot, as_of)
    con.execute("create schema if not exists reporting")
    frame = pd.DataFrame(rows)
    con.register("pilot_rows", frame)
    try:
        con.execute(f"create or replace table {REPORT} as select * from pilot_rows")
    finally:
        con.unregister("pilot_rows")
    return rows


def status(con: duckdb.DuckDBPyConnection) -> dict:
    """The active pilot (else the latest one) with its arms from ``reporting.rpt_pilot``."""
    if not warehouse.table_exists(con, "ops", "pilots"):
        return {"active": False}
    pilots = warehouse.fetch_dicts(
        con, "select * from ops.pilots order by (status = 'active') desc, started_at desc limit 1"
    )
    if not pilots:
        return {"active": False}
    pilot = pilots[0]
    arms = []
    if warehouse.table_exists(con, "reporting", "rpt_pilot"):
        arms = warehouse.fetch_dicts(
            con, f"select * from {REPORT} where pilot_id = ? order by arm desc", [pilot["pilot_id"]]
        )
    moved = con.execute(
        "select count(*) from (select crm_id from ops.pilot_scores where pilot_id = ? "
        "group by crm_id having count(distinct arm) > 1)",
        [pilot["pilot_id"]],
    ).fetchall()[0][0]
    return {"active": pilot["status"] == "active", **pilot, "arms": arms, "people_changed_arm": moved}


def live_seeds(settings: Settings) -> Path:
    return settings.dbt_project_dir / "seeds"
