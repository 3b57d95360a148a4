"""``leadscore report``: build the reporting tables (optional) and render the weekly report.

Imports inside the command function keep ``leadscore --help`` light (``noqa: PLC0415``).
"""

from __future__ import annotations

import argparse
from pathlib import Path

from lead_scoring import text_output
from lead_scoring.config import UserError, load_settings
from lead_scoring.run_context import as_of_argument


def format_written(written: dict) -> str:
    """What ``write_report`` wrote, each section whose table is missing and each section that
    failed to render, with the reason."""
    lines = [f"wrote {written['path']} ({written['bytes']:,} bytes)"]
    missing = written.get("sections_not_available") or []
    failed = written.get("sections_failed") or {}
    if not missing and not failed:
        lines.append("every section rendered")
    if missing:
        lines.append(f"{len(missing)} sections say their table is not built yet:")
        lines += [f"  {item}" for item in missing]
    if failed:
        lines.append(f"{len(failed)} sections failed to render (a bug: please report it):")
        lines += [f"  {key}: {error}" for key, error in failed.items()]
    return "\n".join(lines)


def cmd_report(args: argparse.Namespace) -> int:
    from lead_scoring import warehouse  # noqa: PLC0415
    from lead_scoring.reporting.weekly import report_path, write_report  # noqa: PLC0415

    settings = load_settings()
    warehouse.require(settings.warehouse)
    if args.build:
        from lead_scoring.dbt_runner import run_dbt  # noqa: PLC0415
        from lead_scoring.run_context import parse_as_of  # noqa: PLC0415

        as_of = parse_as_of(args.as_of) if args.as_of else warehouse.latest_scored_at(settings.warehouse)
        run_dbt(settings, ["build", "--select", "tag:weekly"], as_of)
    with warehouse.read_only(settings.warehouse) as con:
        built = warehouse.table_exists(con, "reporting", "rpt_conversion_by_tier_weekly")
    if not built:  # an empty report would replace the last good one
        raise UserError(
            f"the reporting tables are not built in {settings.warehouse}: run `leadscore report --build`"
        )
    out = Path(args.out) if args.out else report_path(settings)
    written = write_report(settings.warehouse, out, read_only=True)
    text_output.emit(args, written, format_written)
    return 1 if written["sections_failed"] else 0


def add_subparser(subparsers) -> argparse.ArgumentParser:
    report = subparsers.add_parser(
        "report",
        help="render reports/weekly_report.html from the reporting tables (--build: build them first)",
    )
    report.add_argument("--build", action="store_true", help="dbt build the weekly (reporting) models first")
    report.add_argument(
        "--as-of", type=as_of_argument, help="as_of for --build (ISO, UTC); default: the latest scored_at"
    )
    report.add_argument("--out", help="output file (default: $LEADSCORE_REPORTS/weekly_report.html)")
    text_output.add_json_option(report)
    report.set_defaults(func=cmd_report, writes=lambda args: args.build)
    return report
