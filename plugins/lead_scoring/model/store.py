"""A trained model in the warehouse: ``ops.model_versions`` (one row per version, with its
features, calibration and validation metrics) and ``ops.model_points`` (its points per
feature and bin). Saving the same version again replaces its rows: nothing twice."""

from __future__ import annotations

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
    "calibration",
    "metrics",
)


def save(con: duckdb.DuckDBPyConnection, model: TrainedModel) -> None:
    """Write (or rewrite) the model's version row and points, in one transaction."""
    row = model.as_row()
    points = model.points.rename(columns={"lower": "lower_bound", "upper": "upper_bound"}).assign(
        version_id=model.version_id
    )
    con.execute("begin")
    try:
        con.execute("delete from ops.model_points where version_id = ?", [model.version_id])
        con.execute("delete from ops.model_versions where version_id = ?", [model.version_id])
        con.execute(
            f"insert into ops.model_versions ({', '.join(VERSION_COLUMNS)}) "
            f"values ({', '.join('?' for _ in VERSION_COLUMNS)})",
            [row[c] for c in VERSION_COLUMNS],
        )
        with registered(con, "_model_points", points):
            con.execute(
                "insert into ops.model_points (version_id, feature, bin_index, bin_label, lower_bound, "
                "upper_bound, categories, points) select version_id, feature, bin_index, bin_label, "
                "lower_bound, upper_bound, categories, points from _model_points"
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
