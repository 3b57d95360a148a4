"""``leadscore backtest``: replay the last N days with the current seeds (and a candidate).

Imports inside the command function keep ``leadscore --help`` light (``noqa: PLC0415``).
"""

from __future__ import annotations

import argparse
import json
from pathlib import Path

from lead_scoring import text_output
from lead_scoring.config import UserError, load_settings
from lead_scoring.run_context import as_of_argument, count_argument


def cmd_backtest(args: argparse.Namespace) -> int:
    from lead_scoring import warehouse  # noqa: PLC0415
    from lead_scoring.backtest.run import BacktestConfig, Variant, run_backtest  # noqa: PLC0415
    from lead_scoring.run_context import parse_as_of  # noqa: PLC0415

    settings = load_settings()
    progress = text_output.progress_printer(args)
    with warehouse.read_only(settings.warehouse) as con:
        leads = warehouse.table_exists(con, "raw_salesforce", "lead") and bool(
            con.execute("select count(*) from raw_salesforce.lead").fetchall()[0][0]
        )
    if not leads:
        raise UserError(f"no CRM Leads in {settings.warehouse} to replay: {warehouse.FIRST_RUN}")
    candidate = None
    end = parse_as_of(args.end) if args.end else None
    if args.candidate_from_win_analysis:
        from lead_scoring.backtest.candidate import win_analysis_candidate  # noqa: PLC0415

        candidate, end, _ = win_analysis_candidate(
            settings,
            args.days,
            end=end,
            fit_as_of=parse_as_of(args.win_analysis_as_of) if args.win_analysis_as_of else None,
            folder=Path(args.candidate_seeds) if args.candidate_seeds else None,
            progress=progress,
            horizon_days=args.horizon_days,
        )
    elif args.candidate_from_model:
        from lead_scoring.backtest.candidate import model_candidate  # noqa: PLC0415
        from lead_scoring.model.train import TrainingError  # noqa: PLC0415

        try:
            candidate, end, _ = model_candidate(
                settings, args.days, end=end, train_days=args.train_days,
                horizon_days=args.horizon_days, progress=progress,
            )  # fmt: skip
        except (TrainingError, ValueError) as error:
            raise UserError(f"cannot train the candidate model: {error}") from None
    elif args.candidate_seeds or args.candidate_vars:
        candidate = Variant(
            "candidate",
            seeds_dir=Path(args.candidate_seeds) if args.candidate_seeds else None,
            dbt_vars=args.candidate_vars or {},
        )
    config = BacktestConfig(
        days=args.days,
        step_days=args.step_days,
        horizon_days=args.horizon_days,
        end=end,
        candidate=candidate,
        keep_scratch=args.keep_scratch,
    )
    summary = run_backtest(settings, config, progress=progress)
    if args.report:
        from lead_scoring.reporting.weekly import report_path, write_report  # noqa: PLC0415

        summary["report"] = write_report(settings.warehouse, report_path(settings))
    text_output.emit(args, summary, format_backtest)
    return 0


def json_object_argument(text: str) -> dict:
    """``--candidate-vars``: a JSON object, or a usage error that shows the form."""
    try:
        value = json.loads(text)
    except json.JSONDecodeError:
        value = None
    if not isinstance(value, dict):
        raise argparse.ArgumentTypeError(f"{text!r} is not a JSON object, e.g. '{{\"intent_weight\": 0.6}}'")
    return value


def _percent(share: float | None) -> str | None:
    return None if share is None else f"{share:.1%}"


def format_backtest(summary: dict) -> str:
    """The backtest as text: its window, then one column per variant (current, candidate)."""
    variants = summary["variants"]
    tiers = sorted({tier for v in variants.values() for tier in v["conversion_by_tier"]})
    metrics = (
        ("AUC", "auc"),
        ("top-decile lift", "top_decile_lift"),
        ("person-days", "person_days"),
        ("conversions", "positives"),
    )
    rows = [{"": label, **{name: v.get(key) for name, v in variants.items()}} for label, key in metrics]
    rows.append({"": "scoring version", **{name: summary.get(f"{name}_model_version") for name in variants}})
    rows.append({"": "seconds", **{name: v.get("duration_s") for name, v in variants.items()}})
    for tier in tiers:
        for label, key in (("conversion", "conversion_by_tier"), ("share", "tier_shares")):
            rows.append(
                {"": f"tier {tier} {label}", **{n: _percent(v[key].get(tier)) for n, v in variants.items()}}
            )
    lines = [
        f"backtest {summary['backtest_id']}: {summary['days_scored']} days, {summary['first_as_of'][:10]} to "
        f"{summary['last_as_of'][:10]} (every {summary['step_days']} days); an opportunity within "
        f"{summary['horizon_days']} days counts, outcomes observed until "
        f"{summary['outcomes_observed_until'][:16]}",
        *text_output.table(rows, 2),
        "written to reporting.rpt_backtest and reporting.rpt_backtest_daily",
    ]
    if summary.get("candidate"):
        lines.insert(1, f"  candidate: {summary['candidate']}")
    if "report" in summary:
        lines.append(f"report: {summary['report']['path']}")
    return "\n".join(lines)


def add_subparser(subparsers) -> argparse.ArgumentParser:
    backtest = subparsers.add_parser(
        "backtest",
        help="score every day of the last N days with only the data known then; AUC, lift, tiers "
        "(current seeds vs a candidate) into reporting.rpt_backtest",
    )
    backtest.add_argument(
        "--days", type=count_argument(1), default=90, help="how many days back (default 90)"
    )
    backtest.add_argument(
        "--step-days", type=count_argument(1), default=1, help="score every Nth day (default 1)"
    )
    backtest.add_argument(
        "--horizon-days",
        type=count_argument(1),
        default=30,
        help="an opportunity within this many days counts (default 30)",
    )
    backtest.add_argument(
        "--end",
        type=as_of_argument,
        help="last day scored (ISO, UTC); default and latest: the data's latest scored_at minus "
        "--horizon-days, so every scored day's outcome is observed",
    )
    backtest.add_argument(
        "--candidate-seeds", help="folder of edited seed CSVs to compare with the current ones"
    )
    backtest.add_argument(
        "--candidate-vars",
        type=json_object_argument,
        help="dbt vars for the candidate, JSON (e.g. '{\"x\": 1}')",
    )
    backtest.add_argument(
        "--candidate-from-win-analysis",
        action="store_true",
        help="candidate = current seeds with the points suggested by the win analysis "
        "(rpt_icp_attribute_lift), fitted on the data known before the first scored day",
    )
    backtest.add_argument(
        "--win-analysis-as-of",
        type=as_of_argument,
        help="fit the win analysis on the data known at this instant (ISO, UTC) instead of the first "
        "scored day; a later instant scores the candidate on outcomes it was fitted on (in-sample)",
    )
    backtest.add_argument(
        "--candidate-from-model",
        action="store_true",
        help="candidate = the current seeds blended with a points table trained on the history "
        "known before the first scored day (docs/predictive-scoring.md)",
    )
    backtest.add_argument(
        "--train-days",
        type=count_argument(1),
        default=90,
        help="with --candidate-from-model: days of history before the first scored day (default 90)",
    )
    backtest.add_argument(
        "--keep-scratch", action="store_true", help="keep var/backtest/<id>/ for inspection"
    )
    backtest.add_argument("--report", action="store_true", help="re-render the weekly report afterwards")
    text_output.add_json_option(backtest)
    backtest.set_defaults(func=cmd_backtest, writes=True)
    return backtest
