"""Train a points table on person-days: leak guard, time-based split, scorecard, yardstick.

The input is one row per person and scoring day: ``person_id``, ``scored_on`` (the day the
features were known), ``label`` (an opportunity within ``horizon_days`` after it), an optional
rules score, and one column per feature as known that day (object/category columns are
categorical, numeric ones numeric). Nothing here reads the warehouse.

The steps, each a function:
1. ``split_by_time``: only person-days whose label was known at the training instant
   (``scored_on + horizon <= trained_at``); the most recent share of those days is the
   validation set, the earlier days the training set.
2. ``guard_features``: outcome fields (conversion, status, opportunity data) are never
   features; a feature that alone separates the validation labels almost perfectly is
   refused, unless allowed by name.
3. ``fit_scorecard``: optimal binning of every feature (optbinning ``BinningProcess``) and a
   logistic regression on the bins' weights of evidence, scaled to points from 0 to 100
   (``optbinning.Scorecard``); ``points_table`` lists feature, bin, bounds and points, so a
   score is a join on bins and a sum.
4. ``calibrate``: a one-variable logistic fit from points to the conversion probability.
5. ``evaluate``: on the validation set, AUC, top-decile lift, precision, recall, F1 and
   accuracy at the MQL volume (the model's top as many person-days as the rules call MQL),
   the calibration error, beside a gradient-boosting yardstick fitted on the same split and
   the rules' AUC, precision and recall at their MQL threshold.
"""

from __future__ import annotations

import hashlib
import json
import logging
import math
import re
import time
from dataclasses import dataclass, field
from datetime import datetime, timedelta

import numpy as np
import pandas as pd
from sklearn.ensemble import HistGradientBoostingClassifier
from sklearn.linear_model import LogisticRegression
from sklearn.metrics import roc_auc_score
from threadpoolctl import threadpool_limits

from lead_scoring.model.features import absent_value, complete

log = logging.getLogger(__name__)

KEY_COLUMNS = ("person_id", "scored_on", "label", "rules_score")

# Set at or after conversion, or describe the outcome itself: never a feature. Matched on a
# feature name's last part (``lead.status``, ``field:IsConverted``, ``converted_date``).
OUTCOME_FIELD = re.compile(
    r"^(is_?converted|converted\w*|status|lead_?status|\w*opportunit\w*|is_?won|is_?closed|"
    r"close_?date|stage_?name|amount)$",
    re.IGNORECASE,
)


# Category values seen on fewer people than TrainingOptions.min_category_people in the
# training days are pooled into this one value; so is, when scoring, a value never seen.
OTHER = "(other)"

# A feature whose bins carry less information value than this (the usual "not predictive"
# cut-off of credit scorecards) is left out of the points table, and named.
MIN_INFORMATION_VALUE = 0.02
# A numeric bin holds at least 0.5% of the person-days and at least this many, and two
# neighbouring bins differ in conversion rate at p < MAX_BIN_PVALUE: without both, a noise
# column on 3,000 person-days got a 45-person "valley" bin and passed the IV cut-off.
MIN_BIN_PEOPLE = 200
MAX_BIN_PVALUE = 0.05
# 100 pre-bins gave the same AUC on the demo and education worlds and took 87 s instead of
# 47 s at 100k leads (the CP solver's model grows with the square of the pre-bins); the
# features are binned on two threads (the solver runs outside Python's lock).
MAX_PREBINS = 50
BINNING_JOBS = 2


class TrainingError(ValueError):
    """The person-days cannot train a model; the message says why and what to do."""


@dataclass(frozen=True)
class TrainingOptions:
    horizon_days: int = 30
    validation_share: float = 0.25  # the most recent share of the training days, held out
    leak_auc: float = 0.98  # a feature alone this good on validation is refused
    allowed_features: frozenset[str] = frozenset()  # passed by the leak guard anyway
    mql_threshold: float = 40.0  # rules composite from which a person is an MQL (the seeds')
    min_positives: int = 20  # per split
    min_category_people: int = 20  # rarer category values are pooled into OTHER
    random_state: int = 0


@dataclass(frozen=True)
class RefusedFeature:
    feature: str
    reason: str


@dataclass
class TrainedModel:
    version_id: str
    trained_at: datetime
    horizon_days: int
    features_used: list[str]
    features_refused: list[RefusedFeature]
    points: pd.DataFrame  # feature, bin_index, bin_label, lower, upper, categories, points
    calibration: dict[str, float]  # probability = 1 / (1 + exp(-(slope * points + intercept)))
    metrics: dict[str, float | int | None]
    scorecard: object = field(repr=False, default=None)
    inputs: list[str] = field(default_factory=list)  # the scorecard's input columns
    known_categories: dict[str, set[str]] = field(default_factory=dict)  # per categorical input
    scaling: dict[str, float] = field(default_factory=lambda: {"offset": 0.0, "scale": 1.0})

    def score(self, frame: pd.DataFrame) -> np.ndarray:
        """Points of each row (what the SQL's bin join and sum gives, before the clamp)."""
        frame = complete(frame, self.inputs)
        raw = self.scorecard.score(model_matrix(frame, self.inputs, self.known_categories))
        return (raw - self.scaling["offset"]) * self.scaling["scale"]

    def bin_values(self) -> pd.DataFrame:
        """One row per categorical bin and category: feature, bin_index, value_text."""
        rows = [
            {"feature": row.feature, "bin_index": row.bin_index, "value_text": value}
            for row in self.points.itertuples()
            if isinstance(row.categories, str)
            for value in json.loads(row.categories)
        ]
        return pd.DataFrame(rows, columns=["feature", "bin_index", "value_text"])

    def as_row(self) -> dict:
        """The model's row of ``ops.model_versions``."""
        return {
            "version_id": self.version_id,
            "trained_at": self.trained_at,
            "horizon_days": self.horizon_days,
            "features_used": json.dumps(self.features_used),
            "features_refused": json.dumps([r.__dict__ for r in self.features_refused]),
            "calibration_slope": self.calibration["slope"],
            "calibration_intercept": self.calibration["intercept"],
            "metrics": json.dumps(self.metrics),
        }


# ------------------------------------------------------------------------------- split


def split_by_time(
    frame: pd.DataFrame, trained_at: datetime, options: TrainingOptions
) -> tuple[pd.Series, pd.Series]:
    """Masks of the training and validation person-days (see the module docstring)."""
    days = pd.to_datetime(frame["scored_on"])
    known = days + timedelta(days=options.horizon_days) <= pd.Timestamp(trained_at)
    known_days = np.sort(days[known].unique())
    if len(known_days) < 2:
        raise TrainingError(
            f"{len(known_days)} scoring day(s) have a known outcome at {trained_at:%Y-%m-%d %H:%M} "
            f"(horizon {options.horizon_days} days): train later, or on more history"
        )
    cut = known_days[max(1, int(round(len(known_days) * (1 - options.validation_share))))]
    # a training day's outcome must be known before the first validation day: otherwise the
    # same person's label (one conversion, positive on each of the 30 days before it) is seen
    # on both sides and a model that memorises people looks better than it is
    train = known & (days + timedelta(days=options.horizon_days) <= cut)
    valid = known & (days >= cut)
    if not train.any():
        raise TrainingError(
            f"no training day: {len(known_days)} days have a known outcome, the latest "
            f"{int(valid.groupby(days).any().sum())} validate and training days must end "
            f"{options.horizon_days} days before them; train on a longer history (--days)"
        )
    for name, mask in (("training", train), ("validation", valid)):
        positives = int(frame.loc[mask, "label"].sum())
        if positives < options.min_positives or positives == int(mask.sum()):
            raise TrainingError(
                f"the {name} days have {positives} conversions among {int(mask.sum())} person-days: "
                f"need at least {options.min_positives} and some non-conversions"
            )
    return train, valid


# ------------------------------------------------------------------------ leak guard


def feature_columns(frame: pd.DataFrame) -> list[str]:
    return [c for c in frame.columns if c not in KEY_COLUMNS]


def is_categorical(series: pd.Series) -> bool:
    return not pd.api.types.is_numeric_dtype(series) or pd.api.types.is_bool_dtype(series)


def single_feature_auc(train: pd.Series, y_train: pd.Series, valid: pd.Series, y_valid: pd.Series) -> float:
    """How well one feature alone ranks the validation labels (0.5 = not at all, 1 = perfectly),
    in its better direction; categories are ranked by their training conversion rate."""
    if is_categorical(train):
        rates = y_train.groupby(train.astype("string").fillna("<missing>")).mean()
        values = valid.astype("string").fillna("<missing>").map(rates).astype(float)
        values = values.fillna(float(y_train.mean()))
    else:
        values = valid.astype(float).fillna(
            float(np.nanmin(train.astype(float))) - 1 if train.notna().any() else 0
        )
    if y_valid.nunique() < 2 or values.nunique() < 2:
        return 0.5
    auc = roc_auc_score(y_valid, values)
    return max(auc, 1 - auc)


def guard_features(
    frame: pd.DataFrame, train: pd.Series, valid: pd.Series, options: TrainingOptions
) -> tuple[list[str], list[RefusedFeature]]:
    """The features the model may use, and the refused ones with the reason."""
    used, refused = [], []
    for feature in feature_columns(frame):
        last = re.split(r"[.:]", feature)[-1]
        if OUTCOME_FIELD.match(last) and feature not in options.allowed_features:
            refused.append(RefusedFeature(feature, "outcome field: known only at or after conversion"))
            continue
        column = frame[feature]
        if column[train].nunique(dropna=False) < 2:
            refused.append(RefusedFeature(feature, "one value on every training day"))
            continue
        auc = single_feature_auc(
            column[train], frame.loc[train, "label"], column[valid], frame.loc[valid, "label"]
        )
        if auc >= options.leak_auc and feature not in options.allowed_features:
            refused.append(
                RefusedFeature(
                    feature,
                    f"alone separates the validation labels (AUC {auc:.3f} >= {options.leak_auc}): "
                    "a leak of the outcome? allow it by name if it is known before conversion",
                )
            )
            continue
        used.append(feature)
    if not used:
        raise TrainingError(
            "no feature is left after the leak guard: " + "; ".join(r.reason for r in refused)
        )
    return used, refused


# ------------------------------------------------------------------------- scorecard


def known_values(
    frame: pd.DataFrame, features: list[str], train: pd.Series, min_people: int
) -> dict[str, set[str]]:
    """Per categorical feature, the values seen on at least ``min_people`` people on the
    training days (the others are pooled into OTHER)."""
    known = {}
    for feature in features:
        if is_categorical(frame[feature]):
            rows = frame.loc[train & frame[feature].notna(), ["person_id", feature]]
            people = rows.drop_duplicates().groupby(rows[feature].astype(str))["person_id"].count()
            known[feature] = set(people[people >= min_people].index)
    return known


def model_matrix(
    frame: pd.DataFrame, features: list[str], known: dict[str, set[str]] | None = None
) -> pd.DataFrame:
    """Categoricals as strings (missing stays missing; a value not in ``known`` is OTHER),
    numerics as floats."""
    columns = {}
    for feature in features:
        column = frame[feature]
        if known is not None and feature in known:
            values = known[feature]
            columns[feature] = column.astype("object").map(
                lambda v, values=values: None if pd.isna(v) else (str(v) if str(v) in values else OTHER)
            )
        elif is_categorical(column):
            columns[feature] = column.astype("object").map(lambda v: None if pd.isna(v) else str(v))
        else:
            columns[feature] = column.astype(float)
    return pd.DataFrame(columns, index=frame.index)


def fit_scorecard(x: pd.DataFrame, y: pd.Series):
    """optbinning's Scorecard: bins per feature, logistic regression on WOE, points 0-100."""
    from optbinning import BinningProcess, Scorecard  # noqa: PLC0415 - optional heavy library

    categorical = [c for c in x.columns if is_categorical(x[c])]
    # Missing values get their own bin's weight of evidence (optbinning's default is 0, the
    # average, whatever the people without the value did). Numeric features start from up
    # to 50 pre-bins (see MIN_BIN_PEOPLE) and keep the trend optbinning's heuristic finds
    # (one direction, or one peak or valley), so a count's bins cannot zigzag on noise.
    # Measured on the demo and education worlds (docs/predictive-scoring.md): optbinning's
    # default 20 pre-bins of 5% in one direction only gave validation AUC 0.744 and 0.869,
    # below the gradient-boosting yardstick (0.775, 0.873); these give 0.782 and 0.891.
    transform = {"metric_missing": "empirical", "metric_special": "empirical"}
    min_bin_size = max(0.005, MIN_BIN_PEOPLE / len(x))
    numeric = {"monotonic_trend": "auto_heuristic", "max_pvalue": MAX_BIN_PVALUE}
    process = BinningProcess(
        variable_names=list(x.columns),
        categorical_variables=categorical,
        max_n_prebins=MAX_PREBINS,
        n_jobs=BINNING_JOBS,
        min_prebin_size=min_bin_size,
        min_bin_size=min_bin_size,
        selection_criteria={"iv": {"min": MIN_INFORMATION_VALUE}},
        binning_fit_params={c: {} if c in categorical else numeric for c in x.columns},
        binning_transform_params={c: transform for c in x.columns},
    )
    scorecard = Scorecard(
        binning_process=process,
        estimator=LogisticRegression(max_iter=1000),
        scaling_method="min_max",
        scaling_method_params={"min": 0, "max": 100},
        reverse_scorecard=True,
    )
    scorecard.fit(x, y.astype(int))
    return scorecard


def selected_features(scorecard) -> tuple[list[str], list[RefusedFeature]]:
    """The features the binning kept, and the ones it left out for too little information."""
    summary = scorecard.binning_process_.summary()
    kept = summary.loc[summary["selected"], "name"].tolist()
    weak = [
        RefusedFeature(row.name, f"too little information (IV {row.iv:.3f} < {MIN_INFORMATION_VALUE})")
        for row in summary.loc[~summary["selected"]].itertuples()
    ]
    return kept, weak


def points_table(scorecard, x: pd.DataFrame) -> pd.DataFrame:
    """One row per feature and bin: bounds (numeric) or categories, and the points; each
    categorical feature also gets an Unseen bin (see ``unseen_points``). ``x``: model rows."""
    table = scorecard.table(style="detailed")
    process = scorecard.binning_process_
    rows = []
    for feature, bins in table.groupby("Variable", sort=False):
        optb = process.get_binned_variable(feature)
        categorical = optb.dtype == "categorical"
        splits = list(optb.splits)
        for position, (_, row) in enumerate(bins.iterrows()):
            label = row["Bin"]
            lower = upper = None
            categories = None
            if position < len(bins) - 2:  # the last two rows are the Special and Missing bins
                if categorical:
                    categories = [str(c) for c in np.asarray(label).ravel().tolist()]
                    label = ", ".join(categories)
                else:
                    lower = splits[position - 1] if position > 0 else None
                    upper = splits[position] if position < len(splits) else None
            rows.append(
                {
                    "feature": feature,
                    "bin_index": position,
                    "bin_label": str(label),
                    "lower": None if lower is None else float(lower),
                    "upper": None if upper is None else float(upper),
                    "categories": None if categories is None else json.dumps(categories),
                    "points": float(row["Points"]),
                    "is_categorical": categorical,
                    "absent_value": absent_value(feature),
                }
            )
        if categorical:
            rows.append(
                {
                    "feature": feature,
                    "bin_index": len(bins),
                    "bin_label": "Unseen",
                    "lower": None,
                    "upper": None,
                    "categories": None,
                    "points": unseen_points(scorecard, x, feature, rows),
                    "is_categorical": True,
                    "absent_value": None,
                }
            )
    return pd.DataFrame(rows)


def unseen_points(scorecard, x: pd.DataFrame, feature: str, rows: list[dict]) -> float:
    """The points of a category the training never saw: those of the bin holding OTHER when
    rare values were pooled, else what the scorecard gives it (the weight of evidence 0),
    measured as the score of a row with the unseen value minus the same row with a known one."""
    bins = [r for r in rows if r["feature"] == feature and r["categories"]]
    for row in bins:
        if OTHER in json.loads(row["categories"]):
            return row["points"]
    known = bins[0]
    probe = pd.concat([x.iloc[[0]]] * 2, ignore_index=True)
    probe.loc[0, feature] = "\x00never seen"
    probe.loc[1, feature] = json.loads(known["categories"])[0]
    unseen, seen = scorecard.score(probe)
    return float(known["points"] + unseen - seen)


# --------------------------------------------------------------------------- scaling


def spread(raw: np.ndarray) -> dict[str, float]:
    """The linear map of the scorecard's points that sends the 1st percentile of the deployed
    person-days to 0 and the 99th to 100. optbinning's 0-100 spans the sum of every feature's
    worst and best bins, which nobody reaches: on the demo world everyone scored 48 to 63."""
    low, high = np.percentile(raw, [1, 99])
    if high - low < 1e-9:
        return {"offset": 0.0, "scale": 1.0}
    return {"offset": float(low), "scale": float(100 / (high - low))}


def rescaled_points(points: pd.DataFrame, scaling: dict[str, float]) -> pd.DataFrame:
    """The points table whose sums are ``(raw - offset) * scale``: every bin scaled, the
    offset shared evenly by the features (a person falls in one bin of each), so a score is
    still the plain sum of its bins' points and a bin's lead over another scales alike."""
    share = scaling["offset"] * scaling["scale"] / points["feature"].nunique()
    return points.assign(points=points["points"] * scaling["scale"] - share)


def rescaled_calibration(calibration: dict[str, float], scaling: dict[str, float]) -> dict[str, float]:
    """The same probabilities as a function of the rescaled points."""
    slope = calibration["slope"]
    return {
        "slope": slope / scaling["scale"],
        "intercept": calibration["intercept"] + slope * scaling["offset"],
    }


# ----------------------------------------------------------------------- calibration


def calibrate(points: np.ndarray, y: np.ndarray) -> dict[str, float]:
    """Slope and intercept of log-odds on points (fitted on the training days)."""
    fit = LogisticRegression(C=1e6, max_iter=1000).fit(points.reshape(-1, 1), y.astype(int))
    return {"slope": float(fit.coef_[0][0]), "intercept": float(fit.intercept_[0])}


def probability(points: np.ndarray, calibration: dict[str, float]) -> np.ndarray:
    return 1 / (1 + np.exp(-(calibration["slope"] * points + calibration["intercept"])))


def calibration_error(prob: np.ndarray, y: np.ndarray, bins: int = 10) -> float:
    """Expected calibration error: the people-weighted gap between the predicted and the
    observed conversion rate over ``bins`` equal-count bins of the prediction."""
    order = np.argsort(prob, kind="stable")
    gaps = 0.0
    for part in np.array_split(order, bins):
        if len(part):
            gaps += len(part) * abs(prob[part].mean() - y[part].mean())
    return float(gaps / len(prob))


# ------------------------------------------------------------------------ evaluation


def top_decile_lift(score: np.ndarray, y: np.ndarray) -> float | None:
    if y.mean() == 0:
        return None
    top = np.argsort(-score, kind="stable")[: max(1, math.ceil(len(score) / 10))]
    return float(y[top].mean() / y.mean())


def auc(y: np.ndarray, score: np.ndarray) -> float | None:
    return float(roc_auc_score(y, score)) if len(np.unique(y)) == 2 else None


def classification_of(predicted: np.ndarray, y: np.ndarray) -> dict[str, float]:
    tp = int((predicted & (y == 1)).sum())
    fp = int((predicted & (y == 0)).sum())
    fn = int((~predicted & (y == 1)).sum())
    precision = tp / (tp + fp) if tp + fp else 0.0
    recall = tp / (tp + fn) if tp + fn else 0.0
    f1 = 2 * precision * recall / (precision + recall) if precision + recall else 0.0
    return {
        "precision": round(precision, 4),
        "recall": round(recall, 4),
        "f1": round(f1, 4),
        "accuracy": round(float((predicted == (y == 1)).mean()), 4),
    }


def at_mql_volume(points: np.ndarray, valid: pd.DataFrame, y: np.ndarray, mql_threshold: float) -> dict:
    """Precision, recall, F1 and accuracy of the model's top person-days, as many as the rules
    call MQL (composite >= ``mql_threshold``; the top decile without a rules score), beside the
    rules' own at their threshold: the same number of people handed to sales, which are better."""
    rules = valid["rules_score"].to_numpy(dtype=float) if "rules_score" in valid else None
    share = float((rules >= mql_threshold).mean()) if rules is not None else 0.1
    flagged = np.zeros(len(points), dtype=bool)
    flagged[np.argsort(-points, kind="stable")[: int(round(share * len(points)))]] = True
    metrics = {"mql_share": round(share, 4), **classification_of(flagged, y)}
    if rules is not None:
        by_rules = classification_of(rules >= mql_threshold, y)
        metrics |= {"rules_precision": by_rules["precision"], "rules_recall": by_rules["recall"]}
    return metrics


def yardstick_auc(x_train: pd.DataFrame, y_train, x_valid: pd.DataFrame, y_valid, seed: int) -> float | None:
    """A gradient-boosting model on the same features and split: reported, not deployed."""

    def typed(x: pd.DataFrame) -> pd.DataFrame:
        return x.apply(lambda c: c.astype("category") if is_categorical(c) else c)

    # HistGradientBoosting takes at most 255 categories: the most frequent 254 on the training
    # days, the rest pooled (a technology list or an e-mail domain has thousands at 100k leads)
    x_train, x_valid = x_train.copy(), x_valid.copy()
    for column in x_train.columns:
        if is_categorical(x_train[column]):
            top = set(x_train[column].value_counts().index[:254])
            for x in (x_train, x_valid):
                x[column] = x[column].map(lambda v, top=top: v if v is None or v in top else OTHER)

    train_x, valid_x = typed(x_train), typed(x_valid)
    for column in train_x.columns:  # the same categories on both sides
        if isinstance(train_x[column].dtype, pd.CategoricalDtype):
            valid_x[column] = pd.Categorical(valid_x[column], categories=train_x[column].cat.categories)
    model = HistGradientBoostingClassifier(categorical_features="from_dtype", random_state=seed)
    model.fit(train_x, np.asarray(y_train, dtype=int))
    return auc(np.asarray(y_valid, dtype=int), model.predict_proba(valid_x)[:, 1])


# ------------------------------------------------------------------------------ train


def version_id(points: pd.DataFrame, trained_at: datetime, horizon_days: int) -> str:
    digest = hashlib.sha256()
    digest.update(f"{trained_at.isoformat()}|{horizon_days}|".encode())
    digest.update(points.to_csv(index=False).encode())
    return "m_" + digest.hexdigest()[:12]


def train(frame: pd.DataFrame, trained_at: datetime, options: TrainingOptions | None = None) -> TrainedModel:
    """Fit the points table on the person-days known at ``trained_at`` (module docstring).
    One native thread: scikit-learn's OpenMP threads beside another busy process (a second
    pytest worker, the hourly run) made the yardstick's fit 500x slower here (157 s vs 0.3 s)."""
    with threadpool_limits(limits=1):
        return _train(frame, trained_at, options or TrainingOptions())


def _train(frame: pd.DataFrame, trained_at: datetime, options: TrainingOptions) -> TrainedModel:
    started = time.perf_counter()
    train_mask, valid_mask = split_by_time(frame, trained_at, options)
    log.info(
        "training on %d person-days, validating on %d (the most recent %.0f%% of the days)",
        int(train_mask.sum()),
        int(valid_mask.sum()),
        options.validation_share * 100,
    )
    used, refused = guard_features(frame, train_mask, valid_mask, options)
    for item in refused:
        log.info("refused feature %s: %s", item.feature, item.reason)
    known = known_values(frame, used, train_mask, options.min_category_people)
    x = model_matrix(frame, used, known)
    y = frame["label"].astype(int).to_numpy()
    scorecard = fit_scorecard(x[train_mask], pd.Series(y[train_mask.to_numpy()]))
    log.info("scorecard fitted on %d features in %.1fs", len(used), time.perf_counter() - started)
    train_points = scorecard.score(x[train_mask])
    valid_points = scorecard.score(x[valid_mask])
    calibration = calibrate(train_points, y[train_mask.to_numpy()])
    y_valid = y[valid_mask.to_numpy()]
    prob = probability(valid_points, calibration)
    metrics: dict[str, float | int | None] = {
        "train_person_days": int(train_mask.sum()),
        "validation_person_days": int(valid_mask.sum()),
        "validation_positives": int(y_valid.sum()),
        "auc": auc(y_valid, valid_points),
        "top_decile_lift": top_decile_lift(valid_points, y_valid),
        **at_mql_volume(valid_points, frame.loc[valid_mask], y_valid, options.mql_threshold),
        "calibration_error": round(calibration_error(prob, y_valid), 4),
        "yardstick_auc": yardstick_auc(
            x[train_mask], y[train_mask.to_numpy()], x[valid_mask], y_valid, options.random_state
        ),
        "rules_auc": auc(y_valid, frame.loc[valid_mask, "rules_score"].to_numpy(dtype=float))
        if "rules_score" in frame
        else None,
    }
    log.info("validation AUC %.3f (yardstick %.3f)", metrics["auc"] or 0, metrics["yardstick_auc"] or 0)
    # The deployed table: the same recipe refitted on every person-day with a known outcome
    # (training, gap and validation days); the metrics above are the recipe's, on held-out days.
    deployed = pd.to_datetime(frame["scored_on"]) + timedelta(days=options.horizon_days) <= pd.Timestamp(
        trained_at
    )
    known = known_values(frame, used, deployed, options.min_category_people)
    x = model_matrix(frame, used, known)
    scorecard = fit_scorecard(x[deployed], pd.Series(y[deployed.to_numpy()]))
    raw = scorecard.score(x[deployed])
    scaling = spread(raw)
    calibration = rescaled_calibration(calibrate(raw, y[deployed.to_numpy()]), scaling)
    inputs = used
    used, weak = selected_features(scorecard)
    refused += weak
    points = rescaled_points(points_table(scorecard, x[deployed]), scaling)
    metrics["deployed_person_days"] = int(deployed.sum())
    metrics["train_seconds"] = round(time.perf_counter() - started, 2)
    return TrainedModel(
        version_id=version_id(points, trained_at, options.horizon_days),
        trained_at=trained_at,
        horizon_days=options.horizon_days,
        features_used=used,
        features_refused=refused,
        points=points,
        calibration=calibration,
        metrics=metrics,
        scorecard=scorecard,
        inputs=inputs,
        known_categories=known,
        scaling=scaling,
    )
