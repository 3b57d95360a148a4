"""``leadscore erase``: record erasure requests and remove the people from the warehouse now.

Imports inside the command function keep ``leadscore --help`` light (``noqa: PLC0415``).
"""

from __future__ import annotations

import argparse
import sys
import uuid
from pathlib import Path


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
    print(
        f"{len(set(hashes))} erasure request(s), {added} new (stored as SHA-256 only); "
        f"{result.total} row(s) removed now"
        + (f" ({', '.join(f'{t}: {n}' for t, n in result.rows_erased.items())})" if result.total else "")
        + ". Derived tables are purged and rebuilt without them by the next run; later loads skip them."
    )
    return 0


def add_subparser(sub: argparse._SubParsersAction) -> None:
    erase = sub.add_parser("erase", help="erase people by e-mail from every table, now and in later loads")
    erase.add_argument("--email", action="append", help="an e-mail address (repeatable)")
    erase.add_argument(
        "--file", action="append", type=Path, help="CSV with an 'email' column, or one address per line"
    )
    erase.set_defaults(func=cmd_erase, writes=True)
