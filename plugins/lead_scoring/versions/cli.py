"""``leadscore versions [record --reason]`` and ``leadscore rollback VERSION --reason``: the
scoring configurations that went live and the way back to one (docs/scoring.md).

Imports inside the command functions keep ``leadscore --help`` light (``noqa: PLC0415``).
"""

from __future__ import annotations

import argparse

from lead_scoring import text_output
from lead_scoring.config import load_settings
from lead_scoring.run_context import count_argument

NEXT_RUN = "the next run scores with it (`leadscore run`, the hourly DAG, or `make demo` for the demo hour)"


def versions_text(rows: list[dict]) -> str:
    if not rows:
        return "no scoring version yet: the first run records one"
    table = [
        {
            "version": r["version_id"] + (" (live)" if r["is_live"] else ""),
            "created": r["created_at"].strftime("%Y-%m-%d %H:%M") if r["created_at"] else "",
            "by": r["created_by"],
            "model": r["model_version"] or "-",
            "reason": r["reason"],
        }
        for r in rows
    ]
    lines = text_output.table(table)
    lines.append("")
    lines += [f"{r['version_id']}: {r['changes']}" for r in rows]
    return "\n".join(lines)


def cmd_versions(args: argparse.Namespace) -> int:
    from lead_scoring import warehouse  # noqa: PLC0415
    from lead_scoring.versions import store  # noqa: PLC0415

    settings = load_settings()
    if args.action == "record":
        with warehouse.connect(warehouse.require(settings.warehouse)) as con:
            config = store.current_configuration(settings.dbt_project_dir / "seeds", con)
            version, recorded = store.record(con, config, args.reason or "", "recorded")
        result = {**version, "recorded": recorded}
        text_output.emit(
            args,
            result,
            lambda r: (
                f"scoring version {r['version_id']} recorded; {NEXT_RUN}"
                if r["recorded"]
                else f"nothing changed since {r['version_id']}, which is live"
            ),
        )
        return 0
    with warehouse.reading(warehouse.require(settings.warehouse)) as con:
        rows = store.list_versions(con) if warehouse.table_exists(con, "ops", "scoring_versions") else []
    text_output.emit(args, rows[: args.limit] if args.limit else rows, versions_text)
    return 0


def cmd_rollback(args: argparse.Namespace) -> int:
    from lead_scoring import warehouse  # noqa: PLC0415
    from lead_scoring.versions import store  # noqa: PLC0415

    settings = load_settings()
    with warehouse.connect(warehouse.require(settings.warehouse)) as con:
        result = store.rollback(
            con, settings.dbt_project_dir / "seeds", args.version, args.reason, warehouse.utc_now()
        )
    text_output.emit(args, result, rollback_text)
    return 0


def rollback_text(result: dict) -> str:
    restored, now = result["restored"], result["version_id"]
    head = f"{restored} is live" + (f" again as {now}" if now != restored else "")
    return (
        f"{head}; its {len(result['seeds'])} scoring seeds written back, "
        f"model {result['model_version'] or 'none'} promoted; {NEXT_RUN}"
    )


def add_subparsers(sub) -> None:
    versions = sub.add_parser("versions", help="the scoring versions that went live, with their change log")
    versions.add_argument(
        "action",
        nargs="?",
        choices=["list", "record"],
        default="list",
        help="list: the change log (default); record: make the current seeds and model a version",
    )
    versions.add_argument("--reason", help="record: what changed and why (required)")
    versions.add_argument(
        "--limit", type=count_argument(0), default=0, help="list: the newest N versions (default: all)"
    )
    text_output.add_json_option(versions)
    versions.set_defaults(func=cmd_versions, writes=lambda args: args.action == "record")

    rollback = sub.add_parser(
        "rollback", help="make an earlier scoring version live again (its seeds and model)"
    )
    rollback.add_argument("version", help="a version from `leadscore versions`, e.g. v1")
    rollback.add_argument("--reason", required=True, help="why you roll back (kept in the change log)")
    text_output.add_json_option(rollback)
    rollback.set_defaults(func=cmd_rollback, writes=True)
