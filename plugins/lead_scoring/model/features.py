"""The long feature rows of ``intermediate.int_people_features`` as one wide row per person
and day, the way the SQL reads them: a count or a rule score without a row is 0, any other
feature without a row is missing; a feature with text values is a category."""

from __future__ import annotations

import re

import numpy as np
import pandas as pd

# Features whose absence means 0 (dbt_project/models/intermediate/predictive/
# int_people_features.sql writes only counts above 0 and rule points other than 0).
ZERO_WHEN_ABSENT = re.compile(r"^rules:|:count_\d+d$")


def absent_value(feature: str) -> float | None:
    """The value of a person without a row for ``feature``: 0, or None (missing)."""
    return 0.0 if ZERO_WHEN_ABSENT.search(feature) else None


def wide(long: pd.DataFrame, keys: list[str]) -> pd.DataFrame:
    """One row per ``keys`` (e.g. person_id, scored_on), one column per feature."""
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
        elif absent_value(feature) is not None:
            columns[feature] = column.astype(float).fillna(absent_value(feature))
        else:
            columns[feature] = column.astype(float)
    return pd.DataFrame(columns, index=joined.index).reset_index()


def add_absent(frame: pd.DataFrame, features: list[str]) -> pd.DataFrame:
    """``frame`` with a column for every feature in ``features`` (absent: 0 or missing)."""
    missing = [f for f in features if f not in frame.columns]
    extra = {f: (absent_value(f) if absent_value(f) is not None else np.nan) for f in missing}
    return frame.assign(**extra) if extra else frame
