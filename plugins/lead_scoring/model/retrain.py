"""The weekly retrain (``dags/lead_scoring_weekly.py``, task ``retrain_model``).

When the newest model version is older than ``LEADSCORE_MODEL_RETRAIN_DAYS`` (7; 0 turns the
retrain off), a points table is trained on the last 90 days (fewer when the CRM history is
shorter) as of the run's instant and promoted only when its validation AUC beats the
champion's (or the rules' before any champion): ``store.beats_champion``. A history too
short to train on is not a failure of the report run: the outcome says why, and the next
week tries again.
"""

from __future__ import annotations

import logging
import math
from collections.abc import Callable
from datetime import datetime, timedelta

import duckdb

from lead_scoring import warehouse
from lead_scoring.config import Settings
from lead_scoring.model import store, train, training_set

log = logging.getLogger(__name__)


def _history_days(con: duckdb.DuckDBPyConnection, as_of: datetime, most: int = 90) -> int:
    """The last ``most`` days, or fewer when the CRM history starts later (the days before
    the first Lead was created would be replayed for nothing)."""
    try:
        first = con.execute('select min("CreatedDate") from raw_salesforce.lead').fetchall()[0][0]
    except duckdb.CatalogException:  # nothing loaded yet: the training will say so
        first = None
    if first is None:
        return most
    return max(1, min(most, math.ceil((as_of - first).total_seconds() / 86400)))


def retrain_if_due(
    settings: Settings, as_of: datetime, progress: Callable[[str], None] = log.info
) -> dict[str, object]:
    """Train (and maybe promote) a version as of ``as_of`` if one is due; the outcome as a
    small dict (status: disabled, not due, not trained, trained)."""
    every = settings.model_retrain_days
    if every <= 0:
        return {"status": "disabled", "reason": "LEADSCORE_MODEL_RETRAIN_DAYS=0"}
    with warehouse.connect(settings.warehouse) as con:
        warehouse.ensure_schema(con)
        newest = store.versions(con).head(1)
        days = _history_days(con, as_of)
    if not newest.empty:
        trained_at = newest["trained_at"].iloc[0].to_pydatetime()
        if as_of - trained_at < timedelta(days=every):
            return {
                "status": "not due",
                "reason": f"{newest['version_id'].iloc[0]} was trained as of {trained_at:%Y-%m-%d %H:%M}, "
                f"less than {every} days before {as_of:%Y-%m-%d %H:%M}",
            }
    window = training_set.TrainingWindow(end=as_of, days=days)
    options = train.TrainingOptions()
    try:
        trained = training_set.train_version(settings, window, options, progress, promote=True)
    except (train.TrainingError, ValueError) as error:
        log.warning("model not retrained: %s", error)
        return {"status": "not trained", "reason": str(error)}
    model = trained.model
    log.info("model %s: %s", model.version_id, ("promoted, " if trained.promoted else "kept, ") + trained.why)
    return {
        "status": "trained",
        "version_id": model.version_id,
        "promoted": trained.promoted,
        "reason": trained.why,
        "auc": model.metrics["auc"],
        "rules_auc": model.metrics["rules_auc"],
        "yardstick_auc": model.metrics["yardstick_auc"],
    }
