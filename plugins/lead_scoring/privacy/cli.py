"""``leadscore erase``: record erasure requests and remove the people from the warehouse now.

Imports inside the command function keep ``leadscore --help`` light (``noqa: PLC0415``).
"""

from __future__ import annotations

import argparse
import sys
import uuid
from pathlib import Path

from lead_scoring import text_output


def cmd_erase(args: argparse.Namespace) -> int:
    from lead_scoring import warehouse  # noqa: PLC0415
    from lead_scoring.config import load_settings  # noqa: PLC0415
    from lead_scoring.privacy import erasure  # noqa: PLC0415
    from lead_scoring.warehouse import utc_now  # noqa: PLC0415

    if not args.email and not args.file:
        print("leadscore erase: give --email ADDRESS and/or --file FILE.csv", file=sys.stderr)
        return 2
    try:
        hashes = [erasure.email_sha256(erasure.validate_email(e, "--email")) for e in args.email or []]
        for path in args.file or []:
            if not path.is_file():
                raise erasure.ErasureRequestError(f"{path}: no such file")
            found, errors = erasure.read_request_file(path)
            if errors:
                raise erasure.ErasureRequestError("; ".join(errors))
            hashes += found
    except erasure.ErasureRequestError as error:
        print(f"leadscore erase: {error}; nothing was recorded", file=sys.stderr)
        return 2
    run_id = f"erase_{uuid.uuid4().hex[:8]}"
    with warehouse.connect(load_settings().warehouse) as con:
        warehouse.ensure_schema(con)
        added = erasure.record_requests(con, hashes, "cli", utc_now())
        result = erasure.purge(con, run_id, utc_now())
    outcome = {
        "requests": len(set(hashes)),
        "new_requests": added,
        "rows_removed": result.total,
        "rows_removed_by_table": dict(result.rows_erased),
    }
    text_output.emit(args, outcome, erased_text)
    return 0


def erased_text(outcome: dict) -> str:
    by_table = ", ".join(f"{t}: {n}" for t, n in outcome["rows_removed_by_table"].items())
    return (
        f"{outcome['requests']} erasure request(s), {outcome['new_requests']} new (stored as SHA-256 only); "
        f"{outcome['rows_removed']} row(s) removed now"
        + (f" ({by_table})" if outcome["rows_removed"] else "")
        + ". Derived tables are purged and rebuilt without them by the next run; later loads skip them."
    )


def add_subparser(sub: argparse._SubParsersAction) -> None:
    erase = sub.add_parser("erase", help="erase people by e-mail from every table, now and in later loads")
    erase.add_argument("--email", action="append", help="an e-mail address (repeatable)")
    erase.add_argument(
        "--file", action="append", type=Path, help="CSV with an 'email' column, or one address per line"
    )
    text_output.add_json_option(erase)
    erase.set_defaults(func=cmd_erase, writes=True)
