"""Person-days to train on, point in time, from the backtest's history replay.

The raw history is copied to a scratch DuckDB with the created version of every record
(``replay.history.prepare``), the project's models up to ``lead_scores`` are compiled once
and replayed for each training day (``replay.models.score_day``): each day's
``int_people_features`` are the features as known that day, and its ``lead_scores`` the rules'
composite (no model version is active in the replay). A person-day is a person without an
opportunity yet that day; its label is whether the first one came within ``horizon_days``.
Only days whose horizon has passed at ``end`` are replayed: their label is known.
"""

from __future__ import annotations

import csv
import logging
import shutil
import time
from collections.abc import Callable
from dataclasses import dataclass, replace
from datetime import datetime, timedelta
from pathlib import Path

import duckdb
import numpy as np
import pandas as pd

from lead_scoring import warehouse
from lead_scoring.config import Settings
from lead_scoring.model import features, store, train
from lead_scoring.replay import history
from lead_scoring.replay.models import compile_models, replay_days, scoring_days
from lead_scoring.warehouse import registered

log = logging.getLogger(__name__)

FEATURES_MODEL = "int_people_features"
# dbt var pinning a model version that does not exist: the replay scores with the rules only
NO_MODEL = {"predictive_model_version": "none: training replay"}


@dataclass(frozen=True)
class TrainingWindow:
    end: datetime  # the training instant: nothing after it is read
    days: int = 90  # how far back the person-days go
    step_days: int = 3
    horizon_days: int = 30
    # More person-days than this and a sample of the people is kept (all their days): at 100k
    # leads the 2M person-days of 90 days took 19 GB in memory
    max_person_days: int = 300_000

    def replay_days(self) -> list[datetime]:
        """The days whose label is known at ``end``, oldest first."""
        last = self.end - timedelta(days=self.horizon_days)
        span = self.days - self.horizon_days
        if span < self.step_days:
            raise ValueError(
                f"days={self.days} leaves no day with a known {self.horizon_days}-day outcome: "
                f"use days > horizon_days + step_days"
            )
        return scoring_days(last, span, self.step_days)


def build(
    settings: Settings, window: TrainingWindow, progress: Callable[[str], None] = log.info
) -> pd.DataFrame:
    """One row per person-day: person_id, scored_on, label, rules_score and the features."""
    started = time.perf_counter()
    scratch_dir = settings.var_dir / "model" / f"training_{datetime.now():%Y%m%dT%H%M%S%f}"
    scratch = scratch_dir / "lead_scoring.duckdb"
    try:
        history.prepare(settings.warehouse, scratch)
        first_opportunity = history.outcomes(scratch)
        share = people_share(scratch, window, progress)
        if share < 1:
            history.sample_people(scratch, share)
        models = compile_models(settings.dbt_project_dir, scratch, scratch_dir, NO_MODEL)
        feature_model = next(m for m in models if m.alias == FEATURES_MODEL)
        frame = _replay(scratch, models, feature_model, window, first_opportunity, progress)
    finally:
        shutil.rmtree(scratch_dir, ignore_errors=True)
    progress(
        f"training set: {len(frame):,} person-days, {int(frame['label'].sum()):,} converted within "
        f"{window.horizon_days} days, {frame.shape[1] - 4} features ({time.perf_counter() - started:.0f} s)"
    )
    return frame


def people_share(history_db: Path, window: TrainingWindow, progress: Callable[[str], None]) -> float:
    """The share of people to keep so that the person-days stay under ``max_person_days``
    (at most every Lead and Contact of the raw history on every replayed day)."""
    con = duckdb.connect(str(history_db))  # (dbt-duckdb may hold it open: same configuration)
    try:
        people = sum(
            con.execute(f'select count(distinct "Id") from raw_salesforce.{table}').fetchall()[0][0]
            for table in ("lead", "contact")
        )
    finally:
        con.close()
    days = len(window.replay_days())
    if people * days <= window.max_person_days:
        return 1.0
    share = window.max_person_days / (people * days)
    progress(
        f"training on a sample of {share:.0%} of the people (all their days): {people:,} people on "
        f"{days} days exceed {window.max_person_days:,} person-days"
    )
    return share


def _replay(
    scratch: Path,
    models: list,
    feature_model,
    window: TrainingWindow,
    first_opportunity: dict[str, datetime],
    progress: Callable[[str], None],
) -> pd.DataFrame:
    con = duckdb.connect(str(scratch))
    try:
        con.execute("set TimeZone = 'UTC'")
        con.execute("create schema if not exists model_training")
        con.execute(
            "create or replace table model_training.rows (scored_on timestamp, person_id varchar, "
            "label boolean, rules_score double, feature varchar, value_text varchar, value_number double)"
        )
        outcomes = pd.DataFrame(
            {"crm_id": list(first_opportunity), "first_opportunity_at": list(first_opportunity.values())}
        )
        # every scored person without an opportunity yet: a row even without features
        collect = f"""insert into model_training.rows
                    select scores.scored_at, scores.crm_id,
                        o.first_opportunity_at is not null
                        and o.first_opportunity_at <= scores.scored_at + interval {window.horizon_days} day,
                        scores.composite_score, f.feature, f.value_text, f.value_number
                    from marts.lead_scores as scores
                    left join first_opportunities as o on o.crm_id = scores.crm_id
                    left join "{feature_model.schema}"."{feature_model.alias}" as f
                        on f.person_id = scores.crm_id
                    where o.first_opportunity_at is null or o.first_opportunity_at > scores.scored_at"""
        with registered(con, "first_opportunities", outcomes):
            replay_days(
                con,
                models,
                window.replay_days(),
                lambda day_con: day_con.execute(collect),
                "training set",
                progress,
            )
        return _wide(con)
    finally:
        con.close()


def _wide(con: duckdb.DuckDBPyConnection) -> pd.DataFrame:
    """The collected long rows as one row per person-day, completed as ``features.complete``
    reads them (a count without a row is 0, any other feature missing) and sorted (the
    replay's row order varies from run to run; the fits, e.g. the yardstick's early-stopping
    sample, must not). Each row's cell is placed by index in numpy: at 100k leads the 12M
    rows took 10 s to pivot in pandas and 23 s as filtered aggregates in DuckDB."""
    con.execute(
        """create or replace temp table person_days as
        select row_number() over (order by scored_on, person_id) - 1 as row_index, *
        from (select person_id, scored_on, any_value(label) as label, any_value(rules_score) as rules_score
              from model_training.rows group by person_id, scored_on)"""
    )
    frame = con.execute(
        "select person_id, scored_on, label, rules_score from person_days order by row_index"
    ).df()
    found = con.execute(
        """create or replace temp table feature_columns as
        select feature, bool_or(value_text is not null) as is_text,
            row_number() over (partition by bool_or(value_text is not null) order by feature) - 1
                as column_index
        from model_training.rows where feature is not null group by feature;
        select feature, is_text, column_index from feature_columns order by feature"""
    ).fetchall()
    columns: dict[str, np.ndarray] = {}
    for text in (False, True):
        names = [feature for feature, is_text, _ in sorted(found, key=lambda f: f[2]) if is_text == text]
        cells = con.execute(
            f"""select d.row_index, c.column_index, {"r.value_text" if text else "r.value_number"} as value
            from model_training.rows as r
            inner join person_days as d using (person_id, scored_on)
            inner join feature_columns as c using (feature)
            where c.is_text = {text} and value is not null"""
        ).fetchnumpy()
        matrix = np.full((len(frame), len(names)), None if text else np.nan, dtype=object if text else float)
        matrix[cells["row_index"], cells["column_index"]] = cells["value"]
        for index, feature in enumerate(names):
            column = matrix[:, index]
            absent = features.absent_value(feature)
            if absent is not None and not text:
                column = np.where(np.isnan(column), absent, column)
            columns[feature] = column
    # object columns, not pandas' str dtype: missing text stays None, as in features.wide
    extra = pd.DataFrame(
        {
            feature: pd.Series(columns[feature], index=frame.index, dtype=columns[feature].dtype)
            for feature, _, _ in found
        }
    )
    return pd.concat([frame, extra], axis=1)


def mql_threshold(settings: Settings) -> float:
    """The seeds' ``mql_threshold`` (seeds/scoring_parameters.csv): the rules' MQL line."""
    path = settings.dbt_project_dir / "seeds" / "scoring_parameters.csv"
    with path.open(newline="") as handle:
        for row in csv.DictReader(handle):
            if row["parameter"] == "mql_threshold":
                return float(row["value"])
    return train.TrainingOptions.mql_threshold


@dataclass(frozen=True)
class Trained:
    model: train.TrainedModel
    promoted: bool
    why: str  # why it was (or would be) promoted or not


def train_version(
    settings: Settings,
    window: TrainingWindow,
    options: train.TrainingOptions,
    progress: Callable[[str], None] = log.info,
    promote: bool = False,
) -> Trained:
    """Build the person-days of ``window``, train on them as of ``window.end``, save the
    version in the warehouse and, with ``promote``, promote it if it beats the champion
    (``store.beats_champion``)."""
    frame = build(settings, window, progress)
    model = train.train(frame, window.end, replace(options, mql_threshold=mql_threshold(settings)))
    with warehouse.connect(settings.warehouse) as con:
        store.save(con, model)
        better, why = store.beats_champion(con, model.metrics)
        if promote and better:
            store.promote(con, model.version_id, warehouse.utc_now())
    return Trained(model, promote and better, why)
