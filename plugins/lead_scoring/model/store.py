"""A trained model in the warehouse: ``ops.model_versions`` (one row per version, with its
features, calibration and validation metrics), ``ops.model_points`` (its points per
feature and bin) and ``ops.model_bin_values`` (the categories of each categorical bin).
Saving the same version again replaces its rows: nothing twice."""

from __future__ import annotations

import json

import duckdb
import pandas as pd

from lead_scoring.model.train import TrainedModel
from lead_scoring.warehouse import registered

VERSION_COLUMNS = (
    "version_id",
    "trained_at",
    "horizon_days",
    "features_used",
    "features_refused",
    "calibration_slope",
    "calibration_intercept",
    "metrics",
)
POINTS_COLUMNS = (
    "version_id",
    "feature",
    "bin_index",
    "bin_label",
    "lower_bound",
    "upper_bound",
    "categories",
    "points",
    "is_categorical",
    "absent_value",
)


def save(con: duckdb.DuckDBPyConnection, model: TrainedModel) -> None:
    """Write (or rewrite) the model's version row and points, in one transaction."""
    row = model.as_row()
    points = model.points.rename(columns={"lower": "lower_bound", "upper": "upper_bound"}).assign(
        version_id=model.version_id
    )
    con.execute("begin")
    try:
        con.execute("delete from ops.model_bin_values where version_id = ?", [model.version_id])
        con.execute("delete from ops.model_points where version_id = ?", [model.version_id])
        con.execute("delete from ops.model_versions where version_id = ?", [model.version_id])
        con.execute(
            f"insert into ops.model_versions ({', '.join(VERSION_COLUMNS)}) "
            f"values ({', '.join('?' for _ in VERSION_COLUMNS)})",
            [row[c] for c in VERSION_COLUMNS],
        )
        columns = ", ".join(POINTS_COLUMNS)
        with registered(con, "_model_points", points):
            con.execute(f"insert into ops.model_points ({columns}) select {columns} from _model_points")
        with registered(con, "_model_bin_values", model.bin_values().assign(version_id=model.version_id)):
            con.execute(
                "insert into ops.model_bin_values (version_id, feature, bin_index, value_text) "
                "select version_id, feature, bin_index, value_text from _model_bin_values"
            )
        con.execute("commit")
    except Exception:
        con.execute("rollback")
        raise


def points_of(con: duckdb.DuckDBPyConnection, version_id: str) -> pd.DataFrame:
    return con.execute(
        "select feature, bin_index, bin_label, lower_bound, upper_bound, categories, points "
        "from ops.model_points where version_id = ? order by feature, bin_index",
        [version_id],
    ).df()


def versions(con: duckdb.DuckDBPyConnection) -> pd.DataFrame:
    """Every version, newest first, with its validation metrics (JSON) and promotion."""
    return con.execute(
        "select version_id, trained_at, horizon_days, metrics, is_promoted, promoted_at "
        "from ops.model_versions order by trained_at desc, version_id"
    ).df()


def champion(con: duckdb.DuckDBPyConnection) -> tuple[str, dict] | None:
    """The promoted version and its metrics, or None."""
    rows = con.execute("select version_id, metrics from ops.model_versions where is_promoted").fetchall()
    return (rows[0][0], json.loads(rows[0][1])) if rows else None


def beats_champion(con: duckdb.DuckDBPyConnection, metrics: dict) -> tuple[bool, str]:
    """The promotion rule: a version's validation AUC must beat the champion's (or, with no
    champion yet, the rules' AUC on the same validation days). Returns (verdict, why)."""
    auc = metrics.get("auc")
    if auc is None:
        return False, "no validation AUC"
    current = champion(con)
    if current is None:
        rules = metrics.get("rules_auc")
        if rules is not None and auc <= rules:
            return False, f"validation AUC {auc:.3f} does not beat the rules' {rules:.3f}"
        return (
            True,
            f"validation AUC {auc:.3f}, rules {rules if rules is None else round(rules, 3)}, no champion yet",
        )
    champion_id, champion_metrics = current
    best = champion_metrics.get("auc") or 0.0
    if auc <= best:
        return False, f"validation AUC {auc:.3f} does not beat the champion {champion_id}'s {best:.3f}"
    return True, f"validation AUC {auc:.3f} beats the champion {champion_id}'s {best:.3f}"


def promote(con: duckdb.DuckDBPyConnection, version_id: str, at) -> None:
    """Make ``version_id`` the one promoted version (the next run scores with it)."""
    if not con.execute("select 1 from ops.model_versions where version_id = ?", [version_id]).fetchall():
        raise KeyError(version_id)
    con.execute("begin")
    try:
        con.execute("update ops.model_versions set is_promoted = false where is_promoted")
        con.execute(
            "update ops.model_versions set is_promoted = true, promoted_at = ? where version_id = ?",
            [at, version_id],
        )
        con.execute("commit")
    except Exception:
        con.execute("rollback")
        raise
