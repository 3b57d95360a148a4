"""The long feature rows of ``intermediate.int_people_features`` as one wide row per person
and day (``wide``), completed the way the SQL reads them (``complete``): a count, a sum or a
rule score without a row is 0, any other feature without a row is missing; a feature with text
values is a category."""

from __future__ import annotations

import re

import numpy as np
import pandas as pd

# Features whose absence means 0 (dbt_project/models/intermediate/predictive/
# int_people_features.sql writes only counts above 0 and rule points other than 0).
ZERO_WHEN_ABSENT = re.compile(r"^rules:|:(count|sum)_\d+d$")


def absent_value(feature: str) -> float | None:
    """The value of a person without a row for ``feature``: 0, or None (missing)."""
    return 0.0 if ZERO_WHEN_ABSENT.search(feature) else None


def wide(long: pd.DataFrame, keys: list[str]) -> pd.DataFrame:
    """One row per ``keys`` (e.g. person_id, scored_on), one column per feature; cells
    without a row are NaN until ``complete``."""
    if long.empty:
        return pd.DataFrame(columns=keys)
    text_features = set(long.loc[long["value_text"].notna(), "feature"].unique())
    is_text = long["feature"].isin(text_features)
    frames = []
    for rows, column in ((long[is_text], "value_text"), (long[~is_text], "value_number")):
        if not rows.empty:
            frames.append(rows.pivot(index=keys, columns="feature", values=column))
    joined = pd.concat(frames, axis=1) if len(frames) > 1 else frames[0]
    columns = {}
    for feature in joined.columns:
        column = joined[feature]
        if feature in text_features:
            columns[feature] = column.astype("object").where(column.notna(), None)
        else:
            columns[feature] = column.astype(float)
    return pd.DataFrame(columns, index=joined.index).reset_index()


def complete(frame: pd.DataFrame, features: list[str]) -> pd.DataFrame:
    """``frame`` with every feature in ``features`` as the SQL reads a person without a row
    for it (rows merged in without any feature, columns no row had): 0 or missing."""
    columns = {}
    for feature in features:
        value = absent_value(feature)
        if feature not in frame.columns:
            columns[feature] = np.nan if value is None else value
        elif value is not None:
            columns[feature] = frame[feature].fillna(value)
    return frame.assign(**columns) if columns else frame
