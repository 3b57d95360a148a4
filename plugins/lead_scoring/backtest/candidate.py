"""A candidate seed folder from the win analysis: the current fit rules and intent signals
with their points replaced by ``reporting.rpt_icp_attribute_lift.suggested_points``, plus new
rules for the values no seed covers whose suggestion is not 0 (``new_rules``): a fit rule per
field value, an intent signal per event type and per event type and page.

A fair backtest of such a candidate fits the win analysis on an earlier window than the one
it scores: ``fit_suggestions`` builds ``rpt_icp_attribute_lift`` in a scratch copy of the raw
history as of a cut-off (by default the first day the backtest scores), so no outcome the
backtest counts was seen when the points were suggested. Suggestions read from the
warehouse's own table (``suggested_points(settings.warehouse)``) are fitted on everything up
to the last run and score the backtest window in-sample.
"""

from __future__ import annotations

import csv
import json
import logging
import re
import shutil
from datetime import datetime, timedelta
from pathlib import Path
from typing import Any

import duckdb

from lead_scoring.backtest.run import Variant, last_observed_day
from lead_scoring.replay import history
from lead_scoring.replay.models import invoke_dbt

log = logging.getLogger(__name__)

# seed file -> (id column, component in rpt_icp_attribute_lift)
SUGGESTED_SEEDS = {"fit_rules.csv": ("rule_id", "fit"), "intent_signals.csv": ("signal_id", "intent")}


def suggested_points(warehouse: Path) -> dict[str, dict[str, int]]:
    """component -> rule id -> suggested points (rules with enough people only)."""
    con = duckdb.connect(str(warehouse))
    try:
        rows = con.execute(
            "select component, rule_id, suggested_points from reporting.rpt_icp_attribute_lift "
            "where has_rule and suggested_points is not null and component in ('fit', 'intent')"
        ).fetchall()
    except duckdb.CatalogException as error:
        raise RuntimeError(
            "reporting.rpt_icp_attribute_lift does not exist: "
            "build the reports first (leadscore report --build)"
        ) from error
    finally:
        con.close()
    out: dict[str, dict[str, int]] = {}
    for component, rule_id, points in rows:
        out.setdefault(component, {})[rule_id] = int(points)
    return out


# Fit attributes a new equals rule can read (seeds/fit_rules.csv, int_fit_rules_matched.sql)
FIT_TEXT_ATTRIBUTES = ("industry", "country", "state", "title_seniority", "title_function", "lead_source")
# A new intent signal's decay and cap: the seeds' middle values
NEW_SIGNAL = {"half_life_days": "14", "max_occurrences": "3", "cap_window_days": "7", "expiry_days": "90"}


def new_rules(warehouse: Path) -> dict[str, list[dict[str, str]]]:
    """Seed rows to add (seed file -> rows): the values of the win analysis no rule covers,
    seen on enough people, whose suggested points are not 0 (the interval of what they add
    beyond the people's fit excludes 0). A page gets priority 1 (it wins over the generic
    signal of its event type, priority 9); its pattern is the URL without query, then any."""
    con = duckdb.connect(str(warehouse))
    try:
        rows = con.execute(
            "select component, attribute, attribute_value, suggested_points "
            "from reporting.rpt_icp_attribute_lift where not has_rule and has_enough_people "
            "and suggested_points is not null and suggested_points <> 0 "
            "order by component, attribute, attribute_value"
        ).fetchall()
    finally:
        con.close()
    fit, intent = [], []
    for component, attribute, value, points in rows:
        if component == "fit" and attribute in FIT_TEXT_ATTRIBUTES:
            fit.append(
                {
                    "rule_id": _slug(f"new_{attribute}_{value}"),
                    "attribute": attribute,
                    "operator": "equals",
                    "match_value": value,
                    "points": str(int(points)),
                    "label": f"{attribute.replace('_', ' ').capitalize()}: {value}",
                }
            )
        elif component == "intent" and attribute in ("event_type", "event_url"):
            event_type, _, url = value.partition(" ")
            intent.append(
                {
                    "signal_id": _slug(f"new_{value}"),
                    "event_type": event_type,
                    "url_pattern": _like_literal(url) + "%" if url else "",
                    "priority": "1" if url else "9",
                    "points": str(int(points)),
                    "label": f"{event_type.replace('_', ' ').capitalize()}" + (f" {url}" if url else ""),
                    **NEW_SIGNAL,
                }
            )
    return {"fit_rules.csv": fit, "intent_signals.csv": intent}


def _slug(text: str) -> str:
    return re.sub(r"[^a-z0-9]+", "_", text.lower()).strip("_")[:80]


def _like_literal(text: str) -> str:
    """``text`` as a LIKE pattern: LIKE has no escape character on every engine, so a % in the
    URL becomes _ (any one character, which matches the % too; a _ already matches itself)."""
    return text.replace("%", "_")


def fit_suggestions(
    settings: Any, fit_as_of: datetime, scratch_dir: Path, dbt_vars: dict[str, Any] | None = None
) -> tuple[dict[str, dict[str, int]], dict[str, list[dict[str, str]]]]:
    """Suggested points and new rules (``suggested_points``, ``new_rules``) from a win analysis
    fitted on the data known at ``fit_as_of``: the raw history is copied to ``scratch_dir``
    (point in time, see ``history.prepare``) and ``+rpt_icp_attribute_lift`` is built there
    as of that instant. ``scratch_dir`` is removed."""

    warehouse = scratch_dir / "lead_scoring.duckdb"
    as_of = fit_as_of.strftime("%Y-%m-%dT%H:%M:%S")
    try:
        history.prepare(settings.warehouse, warehouse)
        # one dbt invocation (seeds and models): each one re-parses the project for the new as_of
        invoke_dbt(
            settings.dbt_project_dir,
            warehouse,
            scratch_dir,
            ["build", "--select", "+rpt_icp_attribute_lift", "--exclude", "resource_type:test",
             "resource_type:unit_test"],
            dbt_vars or {},
            as_of=as_of,
        )  # fmt: skip
        suggestions = suggested_points(warehouse)
        additions = new_rules(warehouse)
        con = duckdb.connect(str(warehouse))
        try:
            people, conversions = con.execute(
                "select count(*), count(case when has_opportunity then 1 end) "
                "from reporting.int_people_outcomes_joined"
            ).fetchall()[0]
        finally:
            con.close()
    finally:
        shutil.rmtree(scratch_dir, ignore_errors=True)
    log.info(
        "win analysis fitted as of %s on %s people, %s with an opportunity: %s",
        as_of,
        people,
        conversions,
        json.dumps({k: len(v) for k, v in suggestions.items()}),
    )
    return suggestions, additions


def win_analysis_candidate(
    settings: Any,
    days: int,
    end: datetime | None = None,
    fit_as_of: datetime | None = None,
    folder: Path | None = None,
    progress: Any = log.info,
    horizon_days: int = 30,
) -> tuple[Any, datetime, dict[str, int]]:
    """The candidate of ``--candidate-from-win-analysis``: seeds with the points the win
    analysis suggests when fitted on the data known at ``fit_as_of`` (default: the first day
    the backtest scores, ``end - days``). Returns the variant, the backtest's last day (pass
    it on as ``BacktestConfig.end``) and the number of points changed per seed file."""

    end, _ = last_observed_day(settings.warehouse, end, horizon_days)
    first_day = end - timedelta(days=days)
    fit_as_of = fit_as_of or first_day
    progress(
        f"fitting the win analysis on the data known at {fit_as_of:%Y-%m-%d %H:%M}; the backtest "
        f"scores {first_day:%Y-%m-%d %H:%M} to {end:%Y-%m-%d %H:%M}"
        + (" (in-sample: the fit saw outcomes the backtest counts)" if fit_as_of > first_day else "")
    )
    suggestions, additions = fit_suggestions(
        settings, fit_as_of, settings.var_dir / "backtest" / "win_analysis_fit"
    )
    folder = folder or settings.var_dir / "backtest" / "candidate_seeds"
    changed = write_candidate_seeds(settings.dbt_project_dir / "seeds", suggestions, folder, additions)
    added = {name: len(rows) for name, rows in additions.items()}
    progress(
        f"candidate seeds from the win analysis: {folder} (rules changed or added: {changed}; "
        f"of them new rules for values no seed covered: {added})"
    )
    return Variant("candidate", seeds_dir=folder), end, changed


def model_candidate(
    settings: Any,
    days: int,
    end: datetime | None = None,
    train_days: int = 90,
    horizon_days: int = 30,
    progress: Any = log.info,
) -> tuple[Variant, datetime, Any]:
    """The candidate of ``--candidate-from-model``: a points table trained on the history known
    at the first day the backtest scores (``end - days``), so no outcome the backtest counts
    was seen in training; saved as a version (not promoted) and pinned for the candidate by
    the ``predictive_model_version`` var. Returns the variant, the backtest's last day and the
    trained model."""
    from lead_scoring.model import train, training_set  # noqa: PLC0415 - training libraries on demand

    end, _ = last_observed_day(settings.warehouse, end, horizon_days)
    first_day = end - timedelta(days=days)
    window = training_set.TrainingWindow(
        end=first_day, days=train_days, step_days=3, horizon_days=horizon_days
    )
    progress(
        f"training the candidate points table on the {train_days} days before {first_day:%Y-%m-%d %H:%M}; "
        f"the backtest scores {first_day:%Y-%m-%d %H:%M} to {end:%Y-%m-%d %H:%M}"
    )
    model = training_set.train_version(
        settings, window, train.TrainingOptions(horizon_days=horizon_days), progress
    ).model
    progress(
        f"candidate model {model.version_id}: validation AUC {model.metrics['auc']:.3f} "
        f"(rules {model.metrics['rules_auc']:.3f}, yardstick {model.metrics['yardstick_auc']:.3f})"
    )
    return Variant("candidate", dbt_vars={"predictive_model_version": model.version_id}), end, model


def write_candidate_seeds(
    seeds_dir: Path,
    suggestions: dict[str, dict[str, int]],
    out_dir: Path,
    additions: dict[str, list[dict[str, str]]] | None = None,
) -> dict[str, int]:
    """Copies of the seeds in ``SUGGESTED_SEEDS`` with points replaced and the ``additions``
    appended (an id the seed already has is skipped); returns rules changed or added."""
    out_dir.mkdir(parents=True, exist_ok=True)
    changed: dict[str, int] = {}
    for name, (id_column, component) in SUGGESTED_SEEDS.items():
        with (seeds_dir / name).open(newline="") as handle:
            reader = csv.DictReader(handle)
            fields, rows = reader.fieldnames or [], list(reader)
        count = 0
        for row in rows:
            new = suggestions.get(component, {}).get(row[id_column])
            if new is not None and float(row["points"]) != new:
                row["points"] = str(new)
                count += 1
        known = {row[id_column] for row in rows}
        for added in (additions or {}).get(name, []):
            if added[id_column] not in known:
                rows.append({column: added.get(column, "") for column in fields})
                known.add(added[id_column])
                count += 1
        with (out_dir / name).open("w", newline="") as handle:
            writer = csv.DictWriter(handle, fieldnames=fields, lineterminator="\n")
            writer.writeheader()
            writer.writerows(rows)
        changed[name] = count
    log.info("candidate seeds from the win analysis in %s: points changed %s", out_dir, changed)
    return changed
