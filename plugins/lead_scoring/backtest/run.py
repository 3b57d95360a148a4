"""``leadscore backtest``: score every day of the last N days as of that day, with only the
data known then, join what followed, and compare the current seeds with a candidate.

How (measured on the demo, see docs/reports-and-backtest.md, "Backtesting a change"):

1. ``history.prepare`` copies the raw tables into a scratch DuckDB per variant and adds the
   *created* version of every record (point-in-time reconstruction of snapshot history).
2. dbt seeds the variant's seeds there and compiles ``+lead_scores`` once, with a sentinel
   ``as_of``; one dbt process per variant, not one per day.
3. For every day the compiled SQL of those models is executed in dependency order with the
   sentinel replaced by the day (``create or replace view|table``): the same SQL dbt runs,
   without dbt's per-invocation parse (a changed ``--vars`` forces a full re-parse, ~4 s).
4. Each day's ``marts.lead_scores`` goes to ``backtest.scores``; person-days with no
   opportunity yet are labelled by whether one was created in the next ``horizon_days``.
   Only days whose whole horizon is in the data are scored (``last_observed_day``).
5. AUC, top-decile lift, conversion by tier and tier shares per variant go to
   ``reporting.rpt_backtest`` (one row per metric, current and candidate side by side) and
   ``reporting.rpt_backtest_daily`` in the warehouse.
"""

from __future__ import annotations

import logging
import shutil
import time
import uuid
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from pathlib import Path
from typing import Any

import duckdb

from lead_scoring.backtest import metrics
from lead_scoring.config import Settings
from lead_scoring.dbt_runner import candidate_project
from lead_scoring.replay import history
from lead_scoring.replay.models import compile_models, replay_days, scoring_days

log = logging.getLogger(__name__)


@dataclass(frozen=True)
class Variant:
    """One set of scoring knobs: the project's seeds, or a candidate."""

    name: str
    seeds_dir: Path | None = None  # CSVs that replace the project's seeds of the same name
    dbt_vars: dict[str, Any] = field(default_factory=dict)


@dataclass(frozen=True)
class BacktestConfig:
    days: int = 90
    step_days: int = 1
    horizon_days: int = 30
    end: datetime | None = None  # default: the latest scored_at (or raw data) in the warehouse
    candidate: Variant | None = None
    keep_scratch: bool = False


def latest_instant(warehouse: Path) -> datetime:
    """The backtest's default last day: the latest ``scored_at`` (or raw Lead change)."""
    con = duckdb.connect(str(warehouse))
    try:
        tables = {
            r[0]
            for r in con.execute(
                "select table_schema || '.' || table_name from information_schema.tables"
            ).fetchall()
        }
        if "marts.lead_scores" in tables:
            value = con.execute("select max(scored_at) from marts.lead_scores").fetchall()[0][0]
            if value is not None:
                return value
        return con.execute("select max(systemmodstamp) from raw_salesforce.lead").fetchall()[0][0]
    finally:
        con.close()


def last_observed_day(warehouse: Path, end: datetime | None, horizon_days: int) -> tuple[datetime, datetime]:
    """The backtest's last scored day and the latest instant of the data: ``end`` (default:
    the latest instant), but never later than the latest instant minus the horizon, so every
    scored day's outcome window is observed whole. (Scoring later days labelled people
    negative whose opportunity had not had time to come: on the demo the positives per day
    fell 165 -> 0 over the last 30 days and lowered every AUC.)"""
    latest = latest_instant(warehouse)
    if latest is None:
        raise ValueError(f"{warehouse} holds no Lead yet: run `leadscore run` (or `make demo`) first")
    observed = latest - timedelta(days=horizon_days)
    return min(end or observed, observed), latest


# ------------------------------------------------------------------------------------------
# dbt: seed and compile once per variant


def _project_for(variant: Variant, settings: Settings, scratch_dir: Path) -> Path:
    if variant.seeds_dir is None:
        return settings.dbt_project_dir
    return candidate_project(settings, Path(variant.seeds_dir), scratch_dir / "dbt_project", variant.name)


# ------------------------------------------------------------------------------------------
# one variant, then the comparison


def run_variant(
    variant: Variant,
    settings: Settings,
    days: list[datetime],
    scratch_root: Path,
    progress: Callable[[str], None] = log.info,
) -> dict[str, Any]:
    scratch_dir = scratch_root / variant.name
    warehouse = scratch_dir / "lead_scoring.duckdb"
    started = time.perf_counter()
    added = history.prepare(settings.warehouse, warehouse)
    project = _project_for(variant, settings, scratch_dir)
    models = compile_models(project, warehouse, scratch_dir, variant.dbt_vars)
    prepared_s = time.perf_counter() - started
    con = duckdb.connect(str(warehouse))
    try:
        con.execute("set TimeZone = 'UTC'")
        con.execute("create schema if not exists backtest")
        con.execute(
            "create or replace table backtest.scores (as_of timestamp, crm_id varchar, crm_object varchar, "
            "composite_score double, fit_score double, intent_score double, tier integer, "
            "is_disqualified boolean, scoring_model_version varchar)"
        )
        collect = (
            "insert into backtest.scores select scored_at, crm_id, crm_object, composite_score, "
            "fit_score, intent_score, tier, is_disqualified, scoring_model_version from marts.lead_scores"
        )
        replay_days(con, models, days, lambda day_con: day_con.execute(collect), variant.name, progress)
        rows = con.execute(
            "select as_of, crm_id, composite_score, tier, scoring_model_version from backtest.scores"
        ).fetchall()
    finally:
        con.close()
    return {
        "rows": rows,
        "created_versions_added": added,
        "prepare_s": prepared_s,
        "duration_s": time.perf_counter() - started,
        "scratch": warehouse,
        "model_version": rows[-1][4] if rows else None,
    }


def label_rows(
    rows: list[tuple], first_opportunity: dict[str, datetime], horizon_days: int
) -> tuple[list[str], list[str], list[float], list[int], list[bool]]:
    """Person-days without an opportunity yet at as_of, labelled True when the first one
    was created within ``horizon_days`` after it."""
    days, ids, scores, tiers, labels = [], [], [], [], []
    horizon = timedelta(days=horizon_days)
    for as_of, crm_id, score, tier, *_ in rows:
        first = first_opportunity.get(crm_id)
        if first is not None and first <= as_of:
            continue
        days.append(as_of.isoformat())
        ids.append(crm_id)
        scores.append(float(score))
        tiers.append(int(tier))
        labels.append(first is not None and first <= as_of + horizon)
    return days, ids, scores, tiers, labels


def daily_metrics(days, ids, scores, tiers, labels) -> list[dict[str, Any]]:
    by_day: dict[str, list[int]] = {}
    for i, day in enumerate(days):
        by_day.setdefault(day, []).append(i)
    out = []
    for day, idx in sorted(by_day.items()):
        sub_scores = [scores[i] for i in idx]
        sub_labels = [labels[i] for i in idx]
        out.append(
            {
                "as_of": day,
                "people": len(idx),
                "positives": sum(sub_labels),
                "auc": metrics.auc(sub_scores, sub_labels),
                "tier1_share": sum(1 for i in idx if tiers[i] == 1) / len(idx),
            }
        )
    return out


def comparison_rows(current: dict[str, Any], candidate: dict[str, Any] | None) -> list[dict[str, Any]]:
    """One row per metric (and tier), current and candidate side by side."""

    def flat(summary: dict[str, Any]) -> dict[tuple[str, int | None], float | None]:
        values: dict[tuple[str, int | None], float | None] = {
            ("auc", None): summary["auc"],
            ("top_decile_lift", None): summary["top_decile_lift"],
            ("person_days", None): summary["person_days"],
            ("positives", None): summary["positives"],
            ("days_scored", None): summary["days_scored"],
        }
        for tier, stats in summary["tiers"].items():
            values[("conversion_rate", tier)] = stats["conversion_rate"]
            values[("tier_share", tier)] = stats["tier_share"]
        return values

    cur = flat(current)
    cand = flat(candidate) if candidate else {}
    rows = []
    for (metric, tier), value in cur.items():
        other = cand.get((metric, tier))
        rows.append(
            {
                "metric": metric,
                "tier": tier,
                "current_value": value,
                "candidate_value": other,
                "difference": (other - value) if other is not None and value is not None else None,
            }
        )
    return rows


def run_backtest(
    settings: Settings, config: BacktestConfig, progress: Callable[[str], None] = log.info
) -> dict:
    """The whole backtest; writes reporting.rpt_backtest(_daily); returns the summary."""
    started = time.perf_counter()
    backtest_id = f"bt_{datetime.utcnow():%Y%m%dT%H%M%S}_{uuid.uuid4().hex[:6]}"
    end, latest = last_observed_day(settings.warehouse, config.end, config.horizon_days)
    if config.end is not None and config.end > end:
        progress(
            f"scoring up to {end:%Y-%m-%d %H:%M}, not {config.end:%Y-%m-%d %H:%M}: the data ends "
            f"{latest:%Y-%m-%d %H:%M}, so a later day's {config.horizon_days}-day outcome is not observed yet"
        )
    days = scoring_days(end, config.days, config.step_days)
    progress(
        f"backtest: {len(days)} days, {days[0]:%Y-%m-%d} to {days[-1]:%Y-%m-%d}, each with its "
        f"{config.horizon_days}-day outcome observed (data until {latest:%Y-%m-%d %H:%M})"
    )
    scratch_root = settings.var_dir / "backtest" / backtest_id
    variants = [Variant("current")] + ([config.candidate] if config.candidate else [])
    results: dict[str, dict[str, Any]] = {}
    try:
        for variant in variants:
            results[variant.name] = run_variant(variant, settings, days, scratch_root, progress)
        first_opportunity = history.outcomes(results["current"]["scratch"])
    finally:
        if not config.keep_scratch:
            shutil.rmtree(scratch_root, ignore_errors=True)
    summaries, daily = {}, []
    for name, result in results.items():
        labelled = label_rows(result["rows"], first_opportunity, config.horizon_days)
        summaries[name] = metrics.summarize(*labelled)
        for row in daily_metrics(*labelled):
            daily.append({"variant": name, **row})
    duration = time.perf_counter() - started
    candidate_name = config.candidate.name if config.candidate else None
    rows = comparison_rows(summaries["current"], summaries.get(candidate_name) if candidate_name else None)
    meta = {
        "backtest_id": backtest_id,
        "first_as_of": days[0],
        "last_as_of": days[-1],
        "step_days": config.step_days,
        "horizon_days": config.horizon_days,
        "outcomes_observed_until": latest,
        "duration_s": round(duration, 1),
        "current_model_version": results["current"]["model_version"],
        "candidate_model_version": results[candidate_name]["model_version"] if candidate_name else None,
        "candidate": str(config.candidate.seeds_dir or config.candidate.dbt_vars)
        if config.candidate
        else None,
    }
    write_results(settings.warehouse, [{**row, **meta} for row in rows], daily, backtest_id)
    return {
        **meta,
        "first_as_of": days[0].isoformat(),
        "last_as_of": days[-1].isoformat(),
        "outcomes_observed_until": latest.isoformat(),
        "days_scored": len(days),
        "variants": {
            name: {
                "auc": summaries[name]["auc"],
                "top_decile_lift": summaries[name]["top_decile_lift"],
                "person_days": summaries[name]["person_days"],
                "positives": summaries[name]["positives"],
                "conversion_by_tier": {t: s["conversion_rate"] for t, s in summaries[name]["tiers"].items()},
                "tier_shares": {t: s["tier_share"] for t, s in summaries[name]["tiers"].items()},
                "prepare_s": round(results[name]["prepare_s"], 1),
                "duration_s": round(results[name]["duration_s"], 1),
                "created_versions_added": results[name]["created_versions_added"],
            }
            for name in summaries
        },
    }


def write_results(warehouse: Path, rows: list[dict], daily: list[dict], backtest_id: str) -> None:
    """Replace reporting.rpt_backtest and reporting.rpt_backtest_daily with this run."""
    import pandas as pd  # noqa: PLC0415

    con = duckdb.connect(str(warehouse))
    try:
        con.execute("set TimeZone = 'UTC'")
        con.execute("create schema if not exists reporting")
        frame = pd.DataFrame(rows)
        frame["tier"] = frame["tier"].astype("Int64")
        daily_frame = pd.DataFrame(daily)
        daily_frame["backtest_id"] = backtest_id
        con.register("backtest_frame", frame)
        con.register("backtest_daily_frame", daily_frame)
        con.execute("create or replace table reporting.rpt_backtest as select * from backtest_frame")
        con.execute(
            "create or replace table reporting.rpt_backtest_daily as "
            "select backtest_id, variant, cast(as_of as timestamp) as as_of, people, positives, auc, "
            "tier1_share "
            "from backtest_daily_frame"
        )
    finally:
        con.close()
