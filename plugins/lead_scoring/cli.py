"""The ``leadscore`` command line: the product's commands (``lead_scoring_dev.cli`` adds the
development ones to make the installed command).

A command imports what it runs inside its function (``noqa: PLC0415``): building the parser
loads no pipeline, dbt, GX or CRM client, so ``leadscore --help`` and the light commands start
at once.
"""

from __future__ import annotations

import argparse
import json
import logging
import sys
import uuid
from datetime import datetime, timezone
from pathlib import Path

from lead_scoring import text_output
from lead_scoring.config import UserError, load_settings
from lead_scoring.run_context import as_of_argument, count_argument, run_id_argument


def _configure_logging(verbose: bool) -> None:
    """Text with the run id, or JSON lines with LEADSCORE_LOG_FORMAT=json (run_logging)."""
    from lead_scoring.run_logging import configure  # noqa: PLC0415

    configure(logging.DEBUG if verbose else logging.INFO)


def format_summary(summary: dict) -> str:
    """The run summary as an aligned two-column table."""
    rejected = [
        (f"  rejected {Path(item['file']).name}", item["reason"][:100])
        for item in summary.get("rejected_files", ())
    ]
    rows = [
        ("run_id", summary["run_id"]),
        ("as_of", summary["as_of"]),
        ("people_scored", summary.get("people_scored", "")),
        ("  records (Leads + Contacts)", summary.get("records_scored", summary["leads_scored"])),
        ("  leads_scored", summary["leads_scored"]),
        ("  contacts_scored", summary.get("contacts_scored", "")),
        *[(f"  tier {label}", count) for label, count in summary["tier_counts"].items()],
        ("crm_records_changed", summary["crm_records_changed"]),
        ("crm_records_written", summary["crm_records_written"]),
        ("crm_write_failures", summary["crm_write_failures"]),
        *([("crm_write_skipped", summary["crm_write_skipped"])] if summary.get("crm_write_skipped") else []),
        ("crm_tasks_created", summary.get("crm_tasks_created", 0)),
        *[(f"  {key}", summary[key]) for key in ("crm_task_failures", "crm_tasks_held") if summary.get(key)],
        ("crm_campaign_members_created", summary.get("crm_campaign_members_created", 0)),
        ("crm_campaign_members_removed", summary.get("crm_campaign_members_removed", 0)),
        *[
            (f"  {key}", summary[key])
            for key in ("crm_campaign_member_failures", "nurture_stopped")
            if summary.get(key)
        ],
        ("rows_read", summary.get("rows_read", "")),
        ("rows_loaded", summary.get("rows_loaded", 0)),
        *([("rows_already_loaded", already)] if (already := summary.get("rows_already_loaded")) else []),
        ("quarantined_rows", summary["quarantined_rows"]),
        ("rows_erased", summary.get("rows_erased", 0)),
        *rejected,
        ("sla_alerts_raised", summary.get("sla_alerts_raised", 0)),
        ("sla_breaches", summary.get("sla_breaches", 0)),
        ("  not alerted (due before routing)", summary.get("sla_breaches_before_routing", 0)),
        ("owner_alerts_raised", summary.get("owner_alerts_raised", 0)),
        ("  held for the owner's hours", summary.get("owner_alerts_held", 0)),
        *[(f"  gx {suite}", status) for suite, status in summary["gx"].items()],
        ("dry_run", summary.get("dry_run", False)),
        ("duration_s", summary.get("duration_s")),
        *[(f"  {stage}", seconds) for stage, seconds in (summary.get("stage_durations_s") or {}).items()],
    ]
    width = max(len(k) for k, _ in rows)
    return "\n".join(f"{k.ljust(width)}  {text_output.cell(v)}".rstrip() for k, v in rows)


def cmd_run(args: argparse.Namespace) -> int:
    from lead_scoring.pipeline import run_all, run_fast_lane  # noqa: PLC0415
    from lead_scoring.run_context import make_context  # noqa: PLC0415

    fast = args.command == "fast-lane"
    now = datetime.now(timezone.utc).replace(second=0, microsecond=0)
    as_of = args.as_of or (now if fast else now.replace(minute=0)).isoformat()
    prefix = "fast" if fast else "cli"
    run_id = args.run_id or f"{prefix}_{as_of[:16].replace(':', '')}_{uuid.uuid4().hex[:6]}"
    try:
        summary = (run_fast_lane if fast else run_all)(make_context(run_id, as_of))
    except Exception as error:
        report = getattr(error, "leadscore_report", None)
        if report is None or args.verbose:
            raise
        print(f"run {report['run_id']} failed in stage {report['failed_stage']}: {report['error']}\n"
              f"fix: {report['fix']}", file=sys.stderr)  # fmt: skip
        return 1
    if summary.get("nothing_new") or summary.get("waiting"):
        summary["message"] = summary.get("waiting") or (
            f"nothing arrived since the last run (as of {summary['as_of']}): nothing to score"
        )
        text_output.emit(args, summary)
        return 0
    text_output.emit(args, summary, format_summary)
    return 0


def cmd_sla_monitor(args: argparse.Namespace) -> int:
    from lead_scoring.run_context import make_context  # noqa: PLC0415
    from lead_scoring.sla_monitor import monitor_once  # noqa: PLC0415

    now = datetime.now(timezone.utc)
    as_of = args.as_of or now.replace(minute=now.minute - now.minute % 5, second=0, microsecond=0).isoformat()
    run_id = args.run_id or f"sla_{as_of[:16].replace(':', '')}_{uuid.uuid4().hex[:6]}"
    text_output.emit(args, monitor_once(make_context(run_id, as_of)))
    return 0


def cmd_status(args: argparse.Namespace) -> int:
    from lead_scoring import warehouse  # noqa: PLC0415
    from lead_scoring.status import format_status, overall_status  # noqa: PLC0415

    settings = load_settings()
    warehouse.require(settings.warehouse)  # a read-only command: never creates a warehouse
    status = overall_status(settings, runs=args.runs)
    text_output.emit(args, status, format_status)
    return 0


def cmd_summary(args: argparse.Namespace) -> int:
    settings = load_settings()
    path = settings.runs_dir / (args.run_id or "latest") / "summary.json"
    if not path.exists():
        print(f"no run summary at {path}: run `make demo` or `leadscore run` first", file=sys.stderr)
        return 1
    summary = json.loads(path.read_text())
    text_output.emit(args, summary, format_summary)
    return 0


def cmd_explain(args: argparse.Namespace) -> int:
    from lead_scoring.explain import explain, format_explanation  # noqa: PLC0415

    explanation = explain(load_settings().warehouse, args.crm_id)
    text_output.emit(args, explanation, format_explanation)
    return 0


def cmd_changes(args: argparse.Namespace) -> int:
    from lead_scoring.changes import format_changes, score_changes  # noqa: PLC0415

    result = score_changes(load_settings().warehouse, limit=args.limit)
    text_output.emit(args, result, format_changes)
    return 0


def cmd_sync(args: argparse.Namespace) -> int:
    from lead_scoring import warehouse  # noqa: PLC0415
    from lead_scoring.pipeline import write_back_crm  # noqa: PLC0415
    from lead_scoring.reverse_etl.status import sync_status  # noqa: PLC0415
    from lead_scoring.run_context import make_context  # noqa: PLC0415

    settings = load_settings()
    warehouse.require(settings.warehouse)
    if args.action == "status":
        text_output.emit(args, sync_status(settings))
        return 0
    if args.dry_run:
        import dataclasses  # noqa: PLC0415

        settings = dataclasses.replace(settings, dry_run=True)
    as_of = args.as_of or warehouse.latest_scored_at(settings.warehouse).isoformat()
    ctx = make_context(args.run_id or f"sync_{uuid.uuid4().hex[:8]}", as_of, settings)
    result = write_back_crm(ctx, force=args.force or None, retry_dead_letters=args.retry_dead_letters)
    if ctx.settings.dry_run:
        result = {
            **result,
            "dry_run_files": str(ctx.run_dir / "dry_run"),
            "note": "dry run: nothing was sent",
        }
    text_output.emit(args, result)
    return 0


def new_parser() -> tuple[argparse.ArgumentParser, argparse._SubParsersAction]:
    """The ``leadscore`` parser without commands, and the sub-parser set to add them to."""
    parser = argparse.ArgumentParser(
        prog="leadscore",
        description="Lead and account scoring, routing and SLAs on Airflow + dbt + DuckDB.",
    )
    parser.add_argument("-v", "--verbose", action="store_true", help="debug logging")
    return parser, parser.add_subparsers(dest="command", required=True)


def add_product_commands(sub: argparse._SubParsersAction) -> None:
    """The product's commands: what an operator runs against a warehouse and a CRM.
    The development commands (generate, sandbox, demo, bench, airflow) are added by
    ``lead_scoring_dev.cli``, the installed ``leadscore`` entry point."""
    from lead_scoring.backtest.cli import add_subparser as add_backtest  # noqa: PLC0415
    from lead_scoring.model.cli import add_subparser as add_model  # noqa: PLC0415
    from lead_scoring.privacy.cli import add_subparser as add_erase  # noqa: PLC0415
    from lead_scoring.reporting.cli import add_subparser as add_report  # noqa: PLC0415
    from lead_scoring.versions.cli import add_subparsers as add_versions  # noqa: PLC0415

    add_erase(sub)
    add_report(sub)
    add_backtest(sub)
    add_model(sub)
    add_versions(sub)

    run = sub.add_parser("run", help="one pipeline run outside Airflow (extract → write-back)")
    run.add_argument(
        "--as-of", type=as_of_argument, help="score as of this instant (ISO, UTC); default: this hour"
    )
    run.add_argument("--run-id", type=run_id_argument, help="run id (default: cli_<as_of>_<random>)")
    text_output.add_json_option(run)
    run.set_defaults(func=cmd_run, writes=True)

    fast = sub.add_parser(
        "fast-lane",
        help="score and write back only what arrived since the last run (new Leads, activities)",
    )
    fast.add_argument(
        "--as-of", type=as_of_argument, help="score as of this instant (ISO, UTC); default: this minute"
    )
    fast.add_argument("--run-id", type=run_id_argument, help="run id (default: fast_<as_of>_<random>)")
    text_output.add_json_option(fast)
    fast.set_defaults(func=cmd_run, writes=True)

    sync = sub.add_parser("sync", help="write changed scores to the CRM, or show what is pending")
    sync.add_argument(
        "action",
        nargs="?",
        choices=["run", "status"],
        default="run",
        help="run: write the pending changes (default); status: show what is pending",
    )
    sync.add_argument("--dry-run", action="store_true", help="write the payload to a file, call nothing")
    sync.add_argument("--force", action="store_true", help="pass the circuit breaker for this run")
    sync.add_argument("--retry-dead-letters", action="store_true", help="re-send rows past max attempts")
    sync.add_argument(
        "--as-of", type=as_of_argument, help="label of the run (default: the scores' scored_at)"
    )
    sync.add_argument("--run-id", type=run_id_argument, help="run id (default: sync_<random>)")
    text_output.add_json_option(sync)
    sync.set_defaults(func=cmd_sync, writes=lambda args: args.action == "run")

    monitor = sub.add_parser("sla-monitor", help="one lead_sla_monitor pass outside Airflow")
    monitor.add_argument(
        "--as-of", type=as_of_argument, help="SLA instant (ISO, UTC); default: now, 5-min floor"
    )
    monitor.add_argument("--run-id", type=run_id_argument, help="run id (default: sla_<as_of>_<random>)")
    text_output.add_json_option(monitor)
    monitor.set_defaults(func=cmd_sla_monitor, writes=True)

    status = sub.add_parser("status", help="last runs, pending write-backs, quarantine and GX results")
    status.add_argument(
        "--runs", type=count_argument(1), default=5, help="how many recent runs to show (default 5)"
    )
    text_output.add_json_option(status)
    status.set_defaults(func=cmd_status)

    explain = sub.add_parser(
        "explain", help="one record's score taken apart: every rule, signal, weight, clamp and tier step"
    )
    explain.add_argument("crm_id", help="the Lead or Contact Id (as in the CRM)")
    text_output.add_json_option(explain)
    explain.set_defaults(func=cmd_explain)

    changes = sub.add_parser(
        "changes", help="who the latest scoring build moved: score, fit, intent, tier before → after"
    )
    changes.add_argument(
        "--limit", type=count_argument(0), default=20, help="records listed, largest moves first (0: all)"
    )
    text_output.add_json_option(changes)
    changes.set_defaults(func=cmd_changes)

    summary = sub.add_parser("summary", help="print a run's summary (default: the latest)")
    summary.add_argument(
        "--run-id", type=run_id_argument, help="a run id from leadscore status (default: the latest run)"
    )
    text_output.add_json_option(summary)
    summary.set_defaults(func=cmd_summary)


def build_parser() -> argparse.ArgumentParser:
    """The product's commands only (``python -m lead_scoring.cli``)."""
    parser, sub = new_parser()
    add_product_commands(sub)
    return parser


def _run_command(args: argparse.Namespace) -> int:
    """Run the command; one that writes the warehouse (``writes``, a flag or a predicate on
    the arguments) holds the writer lock while it runs (lead_scoring.writer_lock)."""
    writes = getattr(args, "writes", False)
    if callable(writes):
        writes = writes(args)
    if not writes:
        return args.func(args)
    from lead_scoring.writer_lock import holding  # noqa: PLC0415

    with holding(load_settings().warehouse, f"leadscore {args.command}"):
        return args.func(args)


def run_parsed(parser: argparse.ArgumentParser, argv: list[str] | None = None) -> int:
    """Parse and run one command. No traceback reaches the user: a ``UserError`` (a bad
    setting or argument, a missing first step) prints its one line and exits 2; any other
    error prints its type and message and exits 1, and ``-v`` shows the traceback."""
    args = parser.parse_args(argv)
    _configure_logging(args.verbose)
    try:
        return _run_command(args)
    except UserError as error:
        print(f"leadscore {args.command}: {error}", file=sys.stderr)
        return 2
    except KeyboardInterrupt:
        print(f"leadscore {args.command}: interrupted", file=sys.stderr)
        return 130
    except Exception as error:
        if args.verbose:
            raise
        message = str(error).strip().splitlines()[0] if str(error).strip() else ""
        print(
            f"leadscore {args.command}: {type(error).__name__}: {message} (leadscore -v {args.command} ... "
            "shows the traceback)",
            file=sys.stderr,
        )
        return 1


def main(argv: list[str] | None = None) -> int:
    return run_parsed(build_parser(), argv)


if __name__ == "__main__":
    sys.exit(main())
