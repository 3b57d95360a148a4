"""The stages of one scoring run, one function each. The Airflow DAG calls each as a task;
``leadscore run`` calls them in sequence (``run_all``). Each takes the run's context and
returns a small JSON-able dict (what Airflow passes between tasks as XCom); data itself
moves through files and DuckDB. Each stage's work lives in its own package:

    extract_crm, extract_map   extract/stage.py
    load_raw                   load/stage.py
    validate_raw               quality/stage.py (GX suites raw_*)
    pilot_prepare              versions/pilot.py (an active pilot's challenger scored, arms assigned)
    build_seeds                seed_build.py (the seeds and their tests, when they changed)
    build_scores               dbt_runner.py (``dbt build`` of the hourly models)
    validate_scores            quality/stage.py (GX suite lead_scores)
    write_back_crm             reverse_etl/sync.py
    shadow_score               versions/shadow.py (a challenger's seeds scored beside, when one is active)
    pilot_record               versions/pilot.py (both scores per pilot member, reporting.rpt_pilot)
    alert_sla                  sla_monitor.py (SLA breaches; owner alerts: owner_alerts.py)
    build_fast_lane, find_touched, score_touched
                               fast_lane.py (the fast lane's builds: first, then narrow)
    summarize                  run_summary.py

Every stage scores and extracts "as of" the run's ``as_of`` (the DAG's data_interval_end),
never the wall clock, and re-running a stage for the same interval changes nothing.
``run_fast_lane`` runs the same stages every minute on what arrived since the last run,
writing back only the people it touched (fast_lane.py).
"""

from __future__ import annotations

import time
from collections.abc import Callable

from lead_scoring import fast_lane, run_logging, seed_build
from lead_scoring.dbt_runner import run_dbt
from lead_scoring.extract import stage as extract_stage
from lead_scoring.failures import record_failure
from lead_scoring.load import stage as load_stage
from lead_scoring.quality import stage as quality_stage
from lead_scoring.reverse_etl import sync
from lead_scoring.run_context import RunContext, timed
from lead_scoring.run_summary import summarize
from lead_scoring.sla_monitor import alert_sla
from lead_scoring.versions import pilot, shadow
from lead_scoring.writer_lock import holding, writes_warehouse


@timed
@writes_warehouse
def extract_crm(ctx: RunContext) -> dict:
    """CRM records changed since the watermarks, up to as_of (or the landing CSVs)."""
    return extract_stage.extract_crm(ctx)


@timed
@writes_warehouse
def extract_map(ctx: RunContext) -> dict:
    """The MAP files waiting in the landing folder."""
    return extract_stage.extract_map(ctx)


@timed
@writes_warehouse
def load_raw(ctx: RunContext, crm: dict, map_files: dict) -> dict:
    """Load the run's CRM extracts and MAP files into raw_*; returns per-batch counts."""
    return load_stage.load_raw(ctx, crm, map_files)


@timed
@writes_warehouse
def validate_raw(ctx: RunContext, load: dict) -> dict:
    """The raw_* GX suites on the batches this run loaded; a critical failure holds them."""
    return quality_stage.validate(ctx, "raw_", load["new_batch_ids"])


# The hourly models and their data tests, but the tests tagged weekly, the unit tests and the
# seeds (loaded with their tests when they change: build_seeds)
HOURLY_BUILD = [
    "build",
    "--select",
    "tag:hourly",
    "--exclude",
    "tag:weekly",
    "resource_type:seed",
    "--exclude-resource-type",
    "unit_test",
]


@timed
@writes_warehouse
def build_seeds(ctx: RunContext) -> dict:
    """The seeds and their data tests, when they changed since their last load
    (seed_build.py); else nothing. The hourly build reads the tables it keeps current."""
    return seed_build.build_if_changed(ctx)


@timed
@writes_warehouse
def build_scores(ctx: RunContext, data_tests: bool = True, skip: tuple[str, ...] = ()) -> dict:
    """``dbt build`` of the hourly models as of the run (outside Airflow; the DAG uses cosmos),
    after the seeds if they changed (``build_seeds``, a task of its own in the DAG).
    Unit tests check the SQL on fixed fixtures, not the data: they run in CI (``make test``),
    not every hour; the data tests tagged weekly (on views their test recomputes) run with the
    weekly build. The fast lane leaves the data tests to the hourly run (``data_tests``; a
    changed seed's tests still run) and skips the models it does not read (``skip``,
    fast_lane.SKIPPED_MODELS)."""

    seeds = seed_build.build_if_changed(ctx)
    args = HOURLY_BUILD + ([] if data_tests else ["--exclude-resource-type", "test"])
    if skip:
        at = args.index("tag:weekly") + 1
        args = [*args[:at], *skip, *args[at:]]
    built = _built(run_dbt(ctx.settings, args, ctx.as_of))
    return {**built, "nodes": built["nodes"] + seeds["nodes"], "seeds": seeds["seeds"]}


def _built(nodes: list[dict]) -> dict:
    """A dbt build stage's result: its node count and the nodes that failed."""
    return {"nodes": len(nodes), "failed": [n["node"] for n in nodes if n["status"] in {"error", "fail"}]}


@timed
@writes_warehouse
def validate_scores(ctx: RunContext, touched: list[str] | None = None) -> dict:
    """The lead_scores GX suite; a critical failure stops the write-back. With ``touched``
    (the fast lane), on the rows of those people only: the only scores it writes."""
    return quality_stage.validate(ctx, "lead_scores", keys=touched)


@timed
@writes_warehouse
def write_back_crm(
    ctx: RunContext,
    force: bool | None = None,
    retry_dead_letters: bool = False,
    touched: set[str] | None = None,
) -> dict:
    """Send the changed payload rows to the CRM (or to a file when LEADSCORE_DRY_RUN is set);
    with ``touched`` (the fast lane) only those people's and Accounts' rows."""
    return sync.write_back(ctx, sync.options_from_env(force, retry_dead_letters), touched)


@timed
@writes_warehouse
def build_fast_lane(ctx: RunContext, narrow: bool) -> dict:
    """The fast lane's first dbt build: with ``narrow`` (fast_lane.can_narrow), the models the
    touched people are found by (fast_lane.first_build); else the hourly models without their
    data tests, as build_scores."""
    if not narrow:
        return build_scores(ctx, data_tests=False, skip=fast_lane.SKIPPED_MODELS)
    return _built(fast_lane.first_build(ctx))


@timed
@writes_warehouse
def score_touched(ctx: RunContext, ids: list[str], narrow: bool) -> dict:
    """With ``narrow``, the touched people scored, routed and alerted over their own rows of
    the hourly tables (fast_lane.narrow_build); without, a no-op (the build did everyone)."""
    if not narrow or not ids:
        return {"narrow": False}
    return {"narrow": True, **fast_lane.narrow_build(ctx, ids)}


@timed
def find_touched(ctx: RunContext, load: dict) -> dict:
    """The fast lane's people: those the run's new batches touched (fast_lane.touched)."""
    ids = fast_lane.touched(ctx, load["new_batch_ids"])
    return {"touched_people": len(ids), "ids": sorted(ids)}


@timed
@writes_warehouse
def shadow_score(ctx: RunContext) -> dict:
    """The active shadow's challenger seeds scored as of the run and compared with the
    champion (``marts.lead_scores_shadow``); never written to the CRM. A no-op without one."""
    return shadow.build(ctx)


@timed
@writes_warehouse
def pilot_prepare(ctx: RunContext) -> dict:
    """Before the dbt build: the active pilot's challenger scored as of the run (pilot_marts)
    and the people not yet in an arm assigned, so the build's lead_scores takes the
    challenger's row for its arm. A no-op without a pilot."""
    return pilot.prepare(ctx)


@timed
@writes_warehouse
def pilot_record(ctx: RunContext) -> dict:
    """After the write-back: both scores of every pilot member into ops.pilot_scores and
    reporting.rpt_pilot recomputed. A no-op without a pilot."""
    return pilot.record(ctx)


def run_all(ctx: RunContext) -> dict:
    """One complete run outside Airflow: extract, load, validate, dbt build, validate,
    write back, summarize. A failing stage is recorded (ops.runs) with its fix, then raised."""

    started = time.time()
    stages: dict = {}
    plan: list[tuple[str, Callable[[], dict]]] = [
        ("extract_crm", lambda: extract_crm(ctx)),
        ("extract_map", lambda: extract_map(ctx)),
        ("load_raw", lambda: load_raw(ctx, stages["extract_crm"], stages["extract_map"])),
        ("validate_raw", lambda: validate_raw(ctx, stages["load_raw"])),
        ("pilot_prepare", lambda: pilot_prepare(ctx)),
        ("dbt_build", lambda: build_scores(ctx)),
        ("validate_scores", lambda: validate_scores(ctx)),
        ("write_back", lambda: write_back_crm(ctx)),
        ("shadow_score", lambda: shadow_score(ctx)),
        ("pilot_record", lambda: pilot_record(ctx)),
        ("alert_sla", lambda: alert_sla(ctx)),
    ]
    # the whole run holds the writer lock: a second run waits instead of breaking into it
    with run_logging.bound(run_id=ctx.run_id), holding(ctx.settings.warehouse, f"run {ctx.run_id}"):
        run_stages(ctx, plan, stages)
        with run_logging.bound(stage="summarize"):
            return summarize(ctx, stages, started)


def run_stages(ctx: RunContext, plan: list[tuple[str, Callable[[], dict]]], stages: dict) -> None:
    """Run ``plan``'s stages in order into ``stages``; a failing one is recorded, then raised."""
    for name, stage in plan:
        try:
            stages[name] = stage()
        except Exception as error:
            with run_logging.bound(stage=name):
                error.leadscore_report = record_failure(ctx.run_id, ctx.as_of, name, error)  # type: ignore[attr-defined]
            raise


def run_fast_lane(ctx: RunContext) -> dict:
    """One fast-lane run (fast_lane.py): extract and load what arrived since the last run; when
    something did, validate it, find the people it touched and score them alone (the narrow
    build; the whole hourly graph without its data tests until an hourly run has built it),
    write back only them, raise the alerts due, and summarize. Holds the writer lock
    throughout, as ``run_all`` does: the two lanes never write at once."""

    started = time.time()
    stages: dict = {}
    arrive: list[tuple[str, Callable[[], dict]]] = [
        ("extract_crm", lambda: extract_crm(ctx)),
        ("extract_map", lambda: extract_map(ctx)),
        ("load_raw", lambda: load_raw(ctx, stages["extract_crm"], stages["extract_map"])),
    ]
    act: list[tuple[str, Callable[[], dict]]] = [
        ("validate_raw", lambda: validate_raw(ctx, stages["load_raw"])),
        ("dbt_build", lambda: build_fast_lane(ctx, narrow)),
        ("touched", lambda: find_touched(ctx, stages["load_raw"])),
        ("narrow_build", lambda: score_touched(ctx, stages["touched"]["ids"], narrow)),
        ("validate_scores", lambda: validate_scores(ctx, touched=stages["touched"]["ids"])),
        ("write_back", lambda: write_back_crm(ctx, touched=set(stages["touched"]["ids"]))),
        ("alert_sla", lambda: alert_sla(ctx)),
    ]
    with run_logging.bound(run_id=ctx.run_id), holding(ctx.settings.warehouse, f"fast lane {ctx.run_id}"):
        waiting = fast_lane.wait_for_the_hour(ctx)
        if waiting is not None:
            return {"run_id": ctx.run_id, "as_of": ctx.as_of.isoformat(), "lane": "fast", "waiting": waiting}
        run_stages(ctx, arrive, stages)
        loaded = stages["load_raw"]
        if not (loaded["rows_loaded"] or loaded["rows_erased"]):  # (an empty window is a batch too)
            return {
                "run_id": ctx.run_id,
                "as_of": ctx.as_of.isoformat(),
                "lane": "fast",
                "nothing_new": True,
                "duration_s": round(time.time() - started, 1),
            }
        narrow = fast_lane.can_narrow(ctx)
        run_stages(ctx, act, stages)
        stages["touched"].pop("ids")
        with run_logging.bound(stage="summarize"):
            return summarize(ctx, stages, started)
