"""Peak memory of rejecting a large landing file (issue 20: "a rejected 2 GB file is
quarantined in streaming, within 1 GiB"). Run by hand, not by the test suite:

    .venv/bin/python -m lead_scoring_dev.bench.rejected_file --gb 2 --kind text

writes a file of that size under a temporary folder (``--dir``), then loads it in a child
process with the product's loader (``load_map_file`` or, for ``--kind crm``,
``load_crm_file``) into a throw-away warehouse, and prints one JSON object: rows read and
quarantined, quarantine rows stored, seconds, and the child's peak RSS (``ru_maxrss``). The
file is deleted afterwards unless ``--keep``. Kinds:

- ``text``: an unknown MAP layout, lines of about 100 characters (about 20M lines at 2 GB);
- ``binary``: random bytes named ``.csv`` (a newline every 256 bytes on average);
- ``oneline``: one line of the whole size, no newline at all (``.dat``: no header);
- ``crm``: a Data Loader Lead CSV missing the required SystemModstamp column.

``--load PATH`` runs only the measured child on an existing file (``--kind`` says which
loader), e.g. under ``/usr/bin/time -v``.
"""

from __future__ import annotations

import argparse
import json
import os
import resource
import shutil
import subprocess
import sys
import tempfile
import time
from datetime import datetime
from pathlib import Path

KINDS = {
    "text": "map/campaign_members.csv",
    "binary": "map/export.csv",
    "oneline": "map/one_line.dat",  # not .csv: no header line
    "crm": "crm/Lead/leads_without_modstamp.csv",
}
BLOCK = 1 << 20


def write_file(path: Path, size: int, kind: str) -> None:
    """``size`` bytes of ``kind``, written one MiB at a time."""
    path.parent.mkdir(parents=True, exist_ok=True)
    if kind == "text":
        header, row = b"member,campaign,note\n", b"member-%09d,campaign-%04d,%s\n"
    elif kind == "crm":
        header, row = b"Id,Email,Company\n", b"00Q%015d,person%d@example.com,%s\n"
    else:
        header, row = b"", b""
    written = 0
    with path.open("wb") as out:
        out.write(header)
        written += len(header)
        number = 0
        while written < size:
            if kind == "binary":
                block = os.urandom(min(BLOCK, size - written))
            elif kind == "oneline":
                block = b"x" * min(BLOCK, size - written)
            else:
                rows = []
                length = 0
                while length < BLOCK:
                    line = row % (number, number % 9973, b"y" * 60)
                    rows.append(line)
                    length += len(line)
                    number += 1
                block = b"".join(rows)[: size - written]
            out.write(block)
            written += len(block)


def measure(path: Path, kind: str) -> dict:
    """Load ``path`` as the pipeline would, in a fresh warehouse beside it; the counts, the
    time and this process's peak RSS."""
    from lead_scoring import warehouse  # noqa: PLC0415 (only the measured child needs the product)
    from lead_scoring.load.files import load_crm_file, load_map_file  # noqa: PLC0415

    root = path.parents[2] if kind == "crm" else path.parents[1]
    database = root.parent / "warehouse.duckdb"
    database.unlink(missing_ok=True)
    started = time.perf_counter()
    as_of = datetime(2026, 11, 1)
    with warehouse.connect(database) as con:
        warehouse.ensure_schema(con)
        if kind == "crm":
            result = load_crm_file(con, "Lead", path, "bench", as_of, root)
        else:
            result = load_map_file(con, path, "bench", as_of, root)
        stored = con.execute("select count(*) from ops.quarantine").fetchall()[0][0]
        status = con.execute("select status from ops.batches").fetchall()[0][0]
    seconds = time.perf_counter() - started
    database.unlink(missing_ok=True)
    return {
        "kind": kind,
        "file_bytes": path.stat().st_size,
        "status": status,
        "rows_read": result.rows_read,
        "rows_quarantined": result.rows_quarantined,
        "quarantine_rows_stored": stored,
        "seconds": round(seconds, 1),
        "peak_rss_mb": round(resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024, 1),
    }


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--gb", type=float, default=2.0, help="file size in GB (10^9 bytes); default 2")
    parser.add_argument("--kind", choices=sorted(KINDS), default="text")
    parser.add_argument("--dir", type=Path, help="where to write the file (default: a new temporary folder)")
    parser.add_argument("--keep", action="store_true", help="keep the file")
    parser.add_argument("--load", type=Path, help="only load this existing file (the measured child)")
    args = parser.parse_args(argv)
    if args.load:
        print(json.dumps(measure(args.load, args.kind)))
        return 0
    folder = args.dir or Path(tempfile.mkdtemp(prefix="leadscore-rejected-"))
    path = folder / "landing" / KINDS[args.kind]
    write_file(path, int(args.gb * 1e9), args.kind)
    try:
        child = [sys.executable, "-m", "lead_scoring_dev.bench.rejected_file", "--load", str(path)]
        done = subprocess.run([*child, "--kind", args.kind], capture_output=True, text=True, check=False)
        sys.stderr.write(done.stderr)
        print(done.stdout.strip().splitlines()[-1] if done.stdout.strip() else "{}")
        return done.returncode
    finally:
        if not args.keep:
            path.unlink(missing_ok=True)
            if args.dir is None:
                shutil.rmtree(folder, ignore_errors=True)


if __name__ == "__main__":
    sys.exit(main())
