"""``leadscore sandbox serve|stop|status|soql|load``: the CRM sandbox from the command line.

The main CLI calls :func:`add_subparser` and then ``args.func(args)``, which returns the exit
code. Imports inside the command functions keep ``leadscore --help`` light
(``noqa: PLC0415``).
"""

from __future__ import annotations

import argparse
import csv
import json
import sys
from pathlib import Path
from typing import Any

from crm_sandbox.records import csv_cell
from lead_scoring.config import load_settings
from lead_scoring.run_context import count_argument, port_argument

DEFAULT_ROWS = 50


def add_subparser(subparsers: Any) -> argparse.ArgumentParser:
    """Add the ``sandbox`` command (with its sub-commands) to ``subparsers``."""
    parser = subparsers.add_parser(
        "sandbox",
        help="the local CRM sandbox (Salesforce REST subset on SQLite)",
        description="Run and query the local CRM sandbox, a Salesforce-REST-compatible HTTPS "
        "server backed by SQLite that the product's real Salesforce code talks to.",
    )
    sub = parser.add_subparsers(dest="sandbox_command", metavar="COMMAND", required=True)

    serve = sub.add_parser("serve", help="start the sandbox (in the background by default)")
    serve.add_argument(
        "--port",
        type=port_argument,
        default=None,
        help="port (default: LEADSCORE_SANDBOX_PORT or 8443; 0 picks a free one)",
    )
    serve.add_argument(
        "--db", type=Path, default=None, help="SQLite database (default: <sandbox dir>/crm.sqlite)"
    )
    serve.add_argument(
        "--foreground",
        action="store_true",
        help="run in this process until Ctrl-C instead of in the background",
    )
    serve.add_argument(
        "--faults", default=None, help='fault injection, e.g. "429:0.1,500:0.05,timeout:0.02,row_error:0.01"'
    )
    serve.set_defaults(func=_serve)

    stop = sub.add_parser("stop", help="stop the background sandbox")
    stop.set_defaults(func=_stop)

    status = sub.add_parser("status", help="show whether the sandbox runs, and where")
    status.set_defaults(func=_status)

    soql = sub.add_parser("soql", help="run a SOQL query through the Salesforce client")
    soql.add_argument("query", help='e.g. "SELECT Id, Email FROM Lead LIMIT 10"')
    soql.add_argument("--all", action="store_true", help="queryAll: include deleted records")
    soql.add_argument(
        "--format",
        choices=("table", "json", "csv"),
        default="table",
        help="table (aligned, long fields whole; default), json or csv",
    )
    soql.add_argument(
        "--limit",
        type=count_argument(0),
        default=DEFAULT_ROWS,
        help=f"rows to print (default {DEFAULT_ROWS}; 0 = all)",
    )
    soql.set_defaults(func=_soql)

    load = sub.add_parser("load", help="load <Object>.parquet files into the sandbox database")
    load.add_argument(
        "parquet_dir", type=Path, help="a folder of <Object>.parquet files (e.g. var/generated/crm)"
    )
    load.add_argument(
        "--db", type=Path, default=None, help="SQLite database (default: <sandbox dir>/crm.sqlite)"
    )
    load.add_argument(
        "--append", action="store_true", help="upsert by Id instead of replacing the loaded objects' rows"
    )
    load.set_defaults(func=_load)
    return parser


def _serve(args: argparse.Namespace) -> int:
    from crm_sandbox import runtime  # noqa: PLC0415

    settings = load_settings()
    port = args.port if args.port is not None else settings.sandbox_port
    if args.foreground:
        from crm_sandbox import server  # noqa: PLC0415

        argv = ["--sandbox-dir", str(settings.sandbox_dir), "--port", str(port)]
        if args.db:
            argv += ["--db", str(args.db)]
        if args.faults is not None:
            argv += ["--faults", args.faults]
        return server.main(argv)
    try:
        info = runtime.start(settings.sandbox_dir, port=port, db=args.db, faults=args.faults)
    except RuntimeError as exc:
        print(f"error: {exc}", file=sys.stderr)
        return 1
    print(info.url)
    print(f"  pid {info.pid}, db {info.db}", file=sys.stderr)
    print(f"  log {settings.sandbox_dir / runtime.LOG_FILE}", file=sys.stderr)
    return 0


def _stop(_args: argparse.Namespace) -> int:
    from crm_sandbox import runtime  # noqa: PLC0415

    settings = load_settings()
    if runtime.stop(settings.sandbox_dir):
        print("CRM sandbox stopped")
    else:
        print("no CRM sandbox was running")
    return 0


def _status(_args: argparse.Namespace) -> int:
    from crm_sandbox import runtime  # noqa: PLC0415

    settings = load_settings()
    current = runtime.info(settings.sandbox_dir)
    if current is None:
        print(f"CRM sandbox not running (folder {settings.sandbox_dir})")
        return 1
    print(json.dumps(current.to_json(), indent=2))
    return 0


def _load(args: argparse.Namespace) -> int:
    from crm_sandbox import store  # noqa: PLC0415

    settings = load_settings()
    db = args.db or settings.sandbox_dir / "crm.sqlite"
    try:
        counts = store.load_parquet_dir(db, args.parquet_dir, replace=not args.append)
    except (FileNotFoundError, ValueError) as exc:
        print(f"error: {exc}", file=sys.stderr)
        return 1
    for obj, rows in counts.items():
        print(f"{obj}: {rows} rows")
    if not counts:
        print(f"no <Object>.parquet file found in {args.parquet_dir}", file=sys.stderr)
        return 1
    return 0


def _cell(value: Any) -> str:
    """A value as a table cell: whole, on one line (line breaks become spaces)."""
    return csv_cell(value).replace("\r\n", " ").replace("\r", " ").replace("\n", " ")


def _numeric(rows: list[dict[str, Any]], column: str) -> bool:
    """Whether a column holds numbers (and nulls) only, like COUNT(Id): right-aligned."""
    values = [row.get(column) for row in rows if row.get(column) is not None]
    return bool(values) and all(isinstance(v, int | float) and not isinstance(v, bool) for v in values)


def _plain(record: dict[str, Any]) -> dict[str, Any]:
    return {k: v for k, v in record.items() if k != "attributes"}


def _soql(args: argparse.Namespace) -> int:
    from simple_salesforce.exceptions import SalesforceError  # noqa: PLC0415

    from lead_scoring.crm.client import resolve_connection, salesforce  # noqa: PLC0415

    settings = load_settings()
    try:
        conn = resolve_connection(settings.sandbox_dir)
    except RuntimeError as exc:
        print(f"error: {exc}", file=sys.stderr)
        return 1
    sf = salesforce(conn)
    limit = args.limit if args.limit > 0 else None
    rows: list[dict[str, Any]] = []
    try:
        # query + query_more, as query_all does, but stop once enough rows are shown.
        result = sf.query(args.query, include_deleted=args.all)
        total = result["totalSize"]
        while True:
            rows.extend(_plain(r) for r in result["records"])
            if result["done"] or (limit is not None and len(rows) >= limit):
                break
            result = sf.query_more(result["nextRecordsUrl"], identifier_is_url=True)
    except SalesforceError as exc:
        content = exc.content
        if isinstance(content, list) and content and isinstance(content[0], dict):
            print(f"{content[0].get('errorCode')}: {content[0].get('message')}", file=sys.stderr)
        else:
            print(f"error: {exc}", file=sys.stderr)
        return 2
    except OSError as exc:
        print(f"error: cannot reach the CRM at {conn.instance_url}: {exc}", file=sys.stderr)
        return 1
    if limit is not None:
        rows = rows[:limit]
    _print_rows(rows, total, args.format)
    return 0


def _print_rows(rows: list[dict[str, Any]], total: int, fmt: str) -> None:
    """Print records (plain or AggregateResult, without ``attributes``) as an aligned table
    with long fields whole and numeric columns right-aligned, as JSON or as CSV."""
    columns: list[str] = []
    for row in rows:
        for key in row:
            if key not in columns:
                columns.append(key)
    if fmt == "json":
        print(json.dumps(rows, indent=2, ensure_ascii=False))
        print(f"{len(rows)} of {total} rows", file=sys.stderr)
        return
    if fmt == "csv":
        writer = csv.DictWriter(sys.stdout, fieldnames=columns, lineterminator="\n")
        writer.writeheader()
        for row in rows:
            writer.writerow({k: csv_cell(v) for k, v in row.items()})
        print(f"{len(rows)} of {total} rows", file=sys.stderr)
        return
    if not columns:
        print(f"totalSize: {total}" if total else "(no rows)")
        return
    cells = [[_cell(row.get(c)) for c in columns] for row in rows]
    widths = [max(len(c), *(len(r[i]) for r in cells)) for i, c in enumerate(columns)]
    justify = [str.rjust if _numeric(rows, c) else str.ljust for c in columns]
    for line in [columns, ["-" * w for w in widths], *cells]:
        print("  ".join(j(v, w) for j, v, w in zip(justify, line, widths, strict=True)).rstrip())
    print(f"({len(rows)} of {total} rows)")
