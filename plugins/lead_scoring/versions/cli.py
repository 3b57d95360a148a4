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


def shadow_text(result: dict) -> str:
    if "dropped_schemas" in result:
        dropped = ", ".join(result["dropped_schemas"]) or "nothing"
        return f"shadow {result['shadow_id']} stopped; dropped {dropped}"
    if "seeds" in result and "active" not in result:
        return (
            f"shadow {result['shadow_id']} started with {', '.join(result['seeds'])}: each run scores it "
            "beside the champion (marts.lead_scores_shadow), never written to the CRM; "
            "see `leadscore shadow status`"
        )
    if not result["active"]:
        return "no shadow is active: leadscore shadow start --candidate-seeds DIR --reason '...'"
    since = f"since {result['started_at']:%Y-%m-%d %H:%M}, by {result['started_by']}"
    lines = [f"shadow {result['shadow_id']} ({since}): {result['reason']}", f"  seeds: {result['seeds']}"]
    if not result.get("compared"):
        return "\n".join([*lines, "  not scored yet: the next run scores it"])
    lines.append(
        f"  as of {result['scored_at']:%Y-%m-%d %H:%M}: {result['people']:,} people, "
        f"{result['tier_changes']:,} would change tier, "
        f"mean score change {result['mean_score_change'] or 0:+.2f}"
    )
    if result["tier_moves"]:
        lines += [
            "",
            "tier moves (champion → challenger):",
            *text_output.table(result["tier_moves"], indent=2),
        ]
    for row in result["largest_moves"]:
        lines += [
            "",
            f"{row['crm_id']}: {row['champion_score']:.0f} → {row['challenger_score']:.0f} "
            f"(tier {row['champion_tier']} → {row['challenger_tier']})",
            f"  champion:   {row['champion_reasons']}",
            f"  challenger: {row['challenger_reasons']}",
        ]
    return "\n".join(lines)


def cmd_shadow(args: argparse.Namespace) -> int:
    from pathlib import Path  # noqa: PLC0415

    from lead_scoring import warehouse  # noqa: PLC0415
    from lead_scoring.config import UserError  # noqa: PLC0415
    from lead_scoring.versions import shadow  # noqa: PLC0415

    settings = load_settings()
    path = warehouse.require(settings.warehouse)
    if args.action == "start":
        if not args.candidate_seeds:
            raise UserError("shadow start needs --candidate-seeds DIR (edited copies of dbt_project/seeds/)")
        with warehouse.connect(path) as con:
            result = shadow.start(con, Path(args.candidate_seeds), args.reason or "", warehouse.utc_now())
    elif args.action == "stop":
        with warehouse.connect(path) as con:
            result = shadow.stop(con, warehouse.utc_now())
    else:
        with warehouse.reading(path) as con:
            result = shadow.status(con, args.limit)
    text_output.emit(args, result, shadow_text)
    return 0


def pilot_text(result: dict) -> str:
    if "dropped_schemas" in result:
        promoted = result["promoted_version"]
        return f"pilot {result['pilot_id']} stopped" + (
            f"; the challenger is live as scoring version {promoted}; {NEXT_RUN}"
            if promoted
            else "; the champion stays live"
        )
    if "population" in result and "status" not in result:
        return (
            f"pilot {result['pilot_id']} started: {result['share']:.0%} of the "
            f"{'new people' if result['population'] == 'new' else 'people'} scored by the challenger "
            f"({result['candidate_kind']}: {result['candidate']}) from the next run; "
            "see `leadscore pilot status`"
        )
    if "pilot_id" not in result:
        return "no pilot yet: leadscore pilot start --candidate-seeds DIR --share 0.2 --reason '...'"
    state = "active" if result["active"] else f"stopped {result['stopped_at']:%Y-%m-%d %H:%M}"
    lines = [
        f"pilot {result['pilot_id']} ({state}; started {result['started_at']:%Y-%m-%d %H:%M} by "
        f"{result['started_by']}): {result['reason']}",
        f"  challenger: {result['candidate_kind']} {result['candidate']}; share {result['share']:g}, "
        f"population {result['population']}, alpha {result['alpha']:g}, power {result['power']:g}, "
        f"min lift {result['min_lift']:g}, min days {result['min_days']:g}, "
        f"horizon {result['horizon_days']} d",
    ]
    arms = result["arms"]
    if not arms:
        return "\n".join([*lines, "  not scored yet: the next run assigns and scores the arms"])

    def pct(value):
        return "-" if value is None else f"{value:.1%}"

    table = [
        {
            "arm": arm["arm"],
            "leads": arm["leads"],
            "share": pct(arm["lead_share"]),
            "mqls": arm["mqls"],
            "opps": arm["opportunities"],
            "conversion (95% CI)": f"{pct(arm['conversion_rate'])} "
            f"({pct(arm['conversion_rate_low'])}-{pct(arm['conversion_rate_high'])})",
            "median min to response": "-"
            if arm["median_minutes_to_first_response"] is None
            else f"{arm['median_minutes_to_first_response']:.0f}",
            "SLA met": pct(arm["sla_compliance"]),
        }
        for arm in arms
    ]
    first = arms[0]
    p_value = "-" if first["p_value"] is None else f"{first['p_value']:.3f}"
    mde = pct(first["minimum_detectable_effect"])
    needed = "-" if first["sample_size_needed"] is None else f"{first['sample_size_needed']:,}"
    days = "-" if first["days_to_sample"] is None else f"{first['days_to_sample']:.1f}"
    lines += [
        f"  as of {first['as_of']:%Y-%m-%d %H:%M}, {first['days_run']:.1f} days run; "
        f"{result['people_changed_arm']} people changed arm",
        "",
        *text_output.table(table, indent=2),
        "",
        f"  p = {p_value}; detectable now: {mde} (absolute); leads needed: {needed}; days to reach: {days}",
        f"  verdict: {first['verdict']} ({first['verdict_reason']})",
    ]
    return "\n".join(lines)


def cmd_pilot(args: argparse.Namespace) -> int:
    from pathlib import Path  # noqa: PLC0415

    from lead_scoring import warehouse  # noqa: PLC0415
    from lead_scoring.config import UserError  # noqa: PLC0415
    from lead_scoring.versions import pilot  # noqa: PLC0415

    settings = load_settings()
    if args.action == "start":
        pilot.check_options(args.share, args.min_days, args.alpha, args.power, args.min_lift)
        if (args.candidate_seeds is None) == (args.candidate_model is None):
            raise UserError(
                "pilot start needs one challenger: --candidate-seeds DIR or --candidate-model VERSION"
            )
        with warehouse.connect(warehouse.require(settings.warehouse)) as con:
            result = pilot.start(
                con,
                pilot.live_seeds(settings),
                seeds_dir=Path(args.candidate_seeds) if args.candidate_seeds else None,
                model_version=args.candidate_model,
                share=args.share,
                population=args.population,
                min_days=args.min_days,
                alpha=args.alpha,
                power=args.power,
                min_lift=args.min_lift,
                reason=args.reason or "",
                at=warehouse.utc_now(),
            )
    elif args.action == "stop":
        with warehouse.connect(warehouse.require(settings.warehouse)) as con:
            result = pilot.stop(
                con, pilot.live_seeds(settings), args.promote, args.reason or "", warehouse.utc_now()
            )
    else:
        with warehouse.reading(warehouse.require(settings.warehouse)) as con:
            result = pilot.status(con)
    text_output.emit(args, result, pilot_text)
    return 0


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

    shadow = sub.add_parser(
        "shadow", help="score a challenger's seeds beside the champion every run, never written to the CRM"
    )
    shadow.add_argument(
        "action",
        nargs="?",
        choices=["status", "start", "stop"],
        default="status",
        help="status: who the challenger would move (default); start: begin shadow scoring; stop: end it",
    )
    shadow.add_argument("--candidate-seeds", help="start: a folder of edited copies of scoring seeds")
    shadow.add_argument("--reason", help="start: what the challenger changes and why (required)")
    shadow.add_argument(
        "--limit", type=count_argument(0), default=10, help="status: the largest moves listed (default 10)"
    )
    text_output.add_json_option(shadow)
    shadow.set_defaults(func=cmd_shadow, writes=lambda args: args.action != "status")

    pilot = sub.add_parser(
        "pilot", help="A/B pilot: a challenger decides the scores of a random share of the people"
    )
    pilot.add_argument(
        "action",
        nargs="?",
        choices=["status", "start", "stop"],
        default="status",
        help="status: arms, conversion and verdict (default); start: begin a pilot; stop: end it",
    )
    pilot.add_argument("--candidate-seeds", help="start: a folder of edited copies of scoring seeds")
    pilot.add_argument("--candidate-model", help="start: a model version from `leadscore model list`")
    pilot.add_argument(
        "--share", type=float, default=0.2, help="start: the challenger's share of the people (default 0.2)"
    )
    pilot.add_argument(
        "--population",
        choices=["new", "all"],
        default="new",
        help="start: new = people first seen after the start (default); all = everyone scored",
    )
    pilot.add_argument(
        "--min-days", type=float, default=14, help="start: days before any verdict (default 14)"
    )
    pilot.add_argument("--alpha", type=float, default=0.05, help="start: significance level (default 0.05)")
    pilot.add_argument(
        "--power", type=float, default=0.8, help="start: power for the sample size (default 0.8)"
    )
    pilot.add_argument(
        "--min-lift",
        type=float,
        default=0.2,
        help="start: the relative change in conversion worth detecting, sizing the sample (default 0.2)",
    )
    pilot.add_argument(
        "--promote", action="store_true", help="stop: make the challenger live (a new scoring version)"
    )
    pilot.add_argument(
        "--reason", help="start and stop: what the challenger changes, or the decision (required)"
    )
    text_output.add_json_option(pilot)
    pilot.set_defaults(func=cmd_pilot, writes=lambda args: args.action != "status")
