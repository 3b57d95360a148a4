"""``leadscore backtest``: replay the last N days with the current seeds (and a candidate).

Imports inside the command function keep ``leadscore --help`` light (``noqa: PLC0415``).
"""

from __future__ import annotations

import argparse
import json
from pathlib import Path

from lead_scoring.config import UserError, load_settings
from lead_scoring.run_context import as_of_argument


def cmd_backtest(args: argparse.Namespace) -> int:
    from lead_scoring import warehouse  # noqa: PLC0415
    from lead_scoring.backtest.run import BacktestConfig, Variant, run_backtest  # noqa: PLC0415
    from lead_scoring.run_context import parse_as_of  # noqa: PLC0415

    settings = load_settings()
    with warehouse.connect(warehouse.require(settings.warehouse)) as con:
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
            progress=print,
            horizon_days=args.horizon_days,
        )
    elif args.candidate_from_model:
        from lead_scoring.backtest.candidate import model_candidate  # noqa: PLC0415
        from lead_scoring.model.train import TrainingError  # noqa: PLC0415

        try:
            candidate, end, _ = model_candidate(
                settings, args.days, end=end, train_days=args.train_days,
                horizon_days=args.horizon_days, progress=print,
            )  # fmt: skip
        except (TrainingError, ValueError) as error:
            raise UserError(f"cannot train the candidate model: {error}") from None
    elif args.candidate_seeds or args.candidate_vars:
        candidate = Variant(
            "candidate",
            seeds_dir=Path(args.candidate_seeds) if args.candidate_seeds else None,
            dbt_vars=json.loads(args.candidate_vars) if args.candidate_vars else {},
        )
    config = BacktestConfig(
        days=args.days,
        step_days=args.step_days,
        horizon_days=args.horizon_days,
        end=end,
        candidate=candidate,
        keep_scratch=args.keep_scratch,
    )
    summary = run_backtest(settings, config, progress=print)
    print(json.dumps(summary, indent=2, default=str))
    if args.report:
        from lead_scoring.reporting.weekly import report_path, write_report  # noqa: PLC0415

        print(json.dumps(write_report(settings.warehouse, report_path(settings)), indent=2))
    return 0


def add_subparser(subparsers) -> argparse.ArgumentParser:
    backtest = subparsers.add_parser(
        "backtest",
        help="score every day of the last N days with only the data known then; AUC, lift, tiers "
        "(current seeds vs a candidate) into reporting.rpt_backtest",
    )
    backtest.add_argument("--days", type=int, default=90, help="how many days back (default 90)")
    backtest.add_argument("--step-days", type=int, default=1, help="score every Nth day (default 1)")
    backtest.add_argument(
        "--horizon-days",
        type=int,
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
    backtest.add_argument("--candidate-vars", help="dbt vars for the candidate, JSON (e.g. '{\"x\": 1}')")
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
        type=int,
        default=90,
        help="with --candidate-from-model: days of history before the first scored day (default 90)",
    )
    backtest.add_argument(
        "--keep-scratch", action="store_true", help="keep var/backtest/<id>/ for inspection"
    )
    backtest.add_argument("--report", action="store_true", help="re-render the weekly report afterwards")
    backtest.set_defaults(func=cmd_backtest, writes=True)
    return backtest
