"""``leadscore model train|list|promote``: the learned points table (docs/predictive-scoring.md).

Imports inside the command functions keep ``leadscore --help`` light (``noqa: PLC0415``).
"""

from __future__ import annotations

import argparse
import json

from lead_scoring import text_output
from lead_scoring.config import UserError, load_settings
from lead_scoring.run_context import as_of_argument, count_argument

METRICS_SHOWN = (
    ("auc", "AUC"),
    ("yardstick_auc", "gradient-boosting yardstick AUC"),
    ("rules_auc", "rules (seeds) AUC"),
    ("top_decile_lift", "top-decile lift"),
    ("mql_share", "MQL volume (rules' share of person-days)"),
    ("precision", "precision at the MQL volume"),
    ("rules_precision", "rules' precision at their MQL threshold"),
    ("recall", "recall at the MQL volume"),
    ("rules_recall", "rules' recall at their MQL threshold"),
    ("f1", "F1 at the MQL volume"),
    ("accuracy", "accuracy at the MQL volume"),
    ("calibration_error", "calibration error"),
    ("train_person_days", "training person-days"),
    ("validation_person_days", "validation person-days"),
    ("validation_positives", "validation conversions"),
)


def _number(value) -> str:
    if value is None:
        return "n/a"
    if isinstance(value, int):
        return f"{value:,}"
    return f"{value:.3f}"


def metrics_lines(metrics: dict) -> list[str]:
    width = max(len(label) for _, label in METRICS_SHOWN)
    return [f"  {label:<{width}}  {_number(metrics.get(key))}" for key, label in METRICS_SHOWN]


def points_lines(points, top: int) -> list[str]:
    """The bins that add the most points, one line each."""
    shown = points[~points["bin_label"].isin(["Special"])].copy()
    lowest = shown.groupby("feature")["points"].transform("min")
    shown["above_lowest"] = shown["points"] - lowest
    shown = shown.sort_values(["above_lowest", "feature"], ascending=[False, True]).head(top)
    return [f"  {r.feature}  {r.bin_label}  +{r.above_lowest:.0f}" for r in shown.itertuples()]


def cmd_train(args: argparse.Namespace) -> int:
    from lead_scoring import warehouse  # noqa: PLC0415
    from lead_scoring.model import train, training_set  # noqa: PLC0415
    from lead_scoring.run_context import parse_as_of  # noqa: PLC0415

    settings = load_settings()
    end = parse_as_of(args.as_of) if args.as_of else warehouse.latest_scored_at(settings.warehouse)
    window = training_set.TrainingWindow(
        end=end,
        days=args.days,
        step_days=args.step_days,
        horizon_days=args.horizon_days,
        max_person_days=args.max_person_days,
    )
    try:
        days = window.replay_days()
    except ValueError as error:
        raise UserError(str(error)) from None
    progress = text_output.progress_printer(args)
    progress(
        f"training as of {end:%Y-%m-%d %H:%M} on {len(days)} days, {days[0]:%Y-%m-%d} to {days[-1]:%Y-%m-%d}"
    )
    options = train.TrainingOptions(
        horizon_days=args.horizon_days, allowed_features=frozenset(args.allow_feature or ())
    )
    try:
        trained = training_set.train_version(settings, window, options, progress, promote=args.promote)
    except train.TrainingError as error:
        raise UserError(f"cannot train: {error}") from None
    model = trained.model
    result = {
        "version_id": model.version_id,
        "features_used": list(model.features_used),
        "features_refused": [{"feature": i.feature, "reason": i.reason} for i in model.features_refused],
        "metrics": model.metrics,
        "promoted": bool(args.promote and trained.promoted),
        "why": trained.why,
    }
    text_output.emit(args, result, lambda _: trained_text(trained, args.top, args.promote))
    return 0


def trained_text(trained, top: int, promote: bool) -> str:
    """A trained version as text: its validation metrics, refused features, top bins."""
    model, why = trained.model, trained.why
    lines = [
        f"\nversion {model.version_id}: {len(model.features_used)} features used, "
        f"{len(model.features_refused)} refused",
        "validation (the most recent days, held out):",
        *metrics_lines(model.metrics),
        "refused:" if model.features_refused else "refused: none",
        *(f"  {item.feature}: {item.reason}" for item in model.features_refused[:top]),
        f"points table (top {top} bins, points above the feature's lowest bin):",
        *points_lines(model.points, top),
    ]
    if promote:
        lines.append(("promoted: " if trained.promoted else "not promoted: ") + why)
    else:
        lines.append(f"saved, not promoted ({why}); promote with: leadscore model promote {model.version_id}")
    return "\n".join(lines)


def cmd_list(args: argparse.Namespace) -> int:
    from lead_scoring import warehouse  # noqa: PLC0415
    from lead_scoring.model import store  # noqa: PLC0415

    settings = load_settings()
    with warehouse.read_only(settings.warehouse) as con:
        frame = store.versions(con) if warehouse.table_exists(con, "ops", "model_versions") else None
    rows = []
    for row in [] if frame is None else frame.itertuples():
        metrics = json.loads(row.metrics)
        rows.append(
            {
                "version": row.version_id,
                "trained_at": row.trained_at.to_pydatetime(),
                "auc": metrics.get("auc"),
                "yardstick_auc": metrics.get("yardstick_auc"),
                "rules_auc": metrics.get("rules_auc"),
                "top_decile_lift": metrics.get("top_decile_lift"),
                "promoted": bool(row.is_promoted),
            }
        )
    text_output.emit(args, rows, versions_text)
    return 0


def versions_text(rows: list[dict]) -> str:
    """The versions as a table, metrics with three decimals each (``_number``)."""
    if not rows:
        return "no model version yet: leadscore model train"
    metrics = ("auc", "yardstick_auc", "rules_auc", "top_decile_lift")
    return "\n".join(text_output.table([{**r, **{k: _number(r[k]) for k in metrics}} for r in rows]))


def cmd_promote(args: argparse.Namespace) -> int:
    from lead_scoring import warehouse  # noqa: PLC0415
    from lead_scoring.model import store  # noqa: PLC0415
    from lead_scoring.versions import store as versions  # noqa: PLC0415

    settings = load_settings()
    with warehouse.connect(warehouse.require(settings.warehouse)) as con:
        try:
            store.promote(con, args.version, warehouse.utc_now())
        except KeyError:
            raise UserError(f"no model version {args.version}: see leadscore model list") from None
        config = versions.current_configuration(settings.dbt_project_dir / "seeds", con)
        reason = args.reason or f"promoted model {args.version}"
        version, _ = versions.record(con, config, reason, "model promote")
    print(f"promoted {args.version} (scoring version {version['version_id']}): the next run scores with it")
    return 0


def add_subparser(subparsers) -> argparse.ArgumentParser:
    model = subparsers.add_parser(
        "model", help="the learned points table: train on the history, list versions, promote one"
    )
    sub = model.add_subparsers(dest="model_command", required=True)
    train = sub.add_parser("train", help="train a points table on the history known at --as-of")
    train.add_argument(
        "--as-of", type=as_of_argument, help="training instant (ISO, UTC); default: the latest scored_at"
    )
    train.add_argument("--days", type=count_argument(1), default=90, help="days of history (default 90)")
    train.add_argument(
        "--step-days", type=count_argument(1), default=3, help="a person-day every N days (default 3)"
    )
    train.add_argument(
        "--max-person-days",
        type=count_argument(1),
        default=300_000,
        help="above this, train on a sample of the people, all their days (default 300,000)",
    )
    train.add_argument(
        "--horizon-days",
        type=count_argument(1),
        default=30,
        help="an opportunity within this many days counts (default 30)",
    )
    train.add_argument(
        "--allow-feature",
        action="append",
        help="let this feature past the leak guard (it is known before conversion); repeatable",
    )
    train.add_argument(
        "--promote", action="store_true", help="promote the new version if it beats the champion"
    )
    train.add_argument(
        "--top", type=count_argument(0), default=10, help="points-table lines to print (default 10)"
    )
    text_output.add_json_option(train)
    train.set_defaults(func=cmd_train, writes=True)
    listing = sub.add_parser("list", help="every trained version with its validation metrics")
    text_output.add_json_option(listing)
    listing.set_defaults(func=cmd_list)
    promote = sub.add_parser("promote", help="make a version live: the next run scores with it")
    promote.add_argument("version", help="a version id from leadscore model list")
    promote.add_argument(
        "--reason", help="why (kept in the scoring change log; default: 'promoted model <id>')"
    )
    promote.set_defaults(func=cmd_promote, writes=True)
    return model
