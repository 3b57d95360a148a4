"""``leadscore report``: build the reporting tables (optional) and render the weekly report."""

from __future__ import annotations

import argparse
import json
from pathlib import Path


def cmd_report(args: argparse.Namespace) -> int:
    from lead_scoring.config import load_settings  # noqa: PLC0415
    from lead_scoring.reporting.weekly import report_path, write_report  # noqa: PLC0415

    settings = load_settings()
    if args.build:
        from lead_scoring.dbt_runner import run_dbt  # noqa: PLC0415
        from lead_scoring.run_context import parse_as_of  # noqa: PLC0415

        as_of = parse_as_of(args.as_of) if args.as_of else _latest_scored_at(settings)
        run_dbt(settings, ["build", "--select", "tag:weekly"], as_of)
    out = Path(args.out) if args.out else report_path(settings)
    print(json.dumps(write_report(settings.warehouse, out), indent=2))
    return 0


def _latest_scored_at(settings):
    from lead_scoring import warehouse  # noqa: PLC0415

    with warehouse.connect(settings.warehouse) as con:
        rows = con.execute("select max(scored_at) from marts.lead_scores").fetchall()
    if rows[0][0] is None:
        raise SystemExit("marts.lead_scores is empty: run `make demo` or `leadscore run` first")
    return rows[0][0]


def add_subparser(subparsers) -> argparse.ArgumentParser:
    report = subparsers.add_parser(
        "report",
        help="render reports/weekly_report.html from the reporting tables (--build: build them first)",
    )
    report.add_argument("--build", action="store_true", help="dbt build the weekly (reporting) models first")
    report.add_argument("--as-of", help="as_of for --build (ISO, UTC); default: the latest scored_at")
    report.add_argument("--out", help="output file (default: $LEADSCORE_REPORTS/weekly_report.html)")
    report.set_defaults(func=cmd_report)
    return report
