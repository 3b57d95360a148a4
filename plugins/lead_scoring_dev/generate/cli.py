"""``leadscore generate``: the command line of the synthetic generator.

Parses the options, calls :func:`lead_scoring_dev.generate.synthetic.generate` with the settings'
folders and the chosen ``--profile`` (the world), prints the counts and loads the generated CRM
into the local sandbox.
"""

from __future__ import annotations

import argparse
import time
from datetime import datetime
from pathlib import Path
from typing import Any

from crm_sandbox.store import load_parquet_dir
from lead_scoring.config import load_settings
from lead_scoring.run_context import count_argument
from lead_scoring_dev.generate import education, synthetic
from lead_scoring_dev.generate.synthetic import utc_naive

# The worlds ``--profile`` chooses from: the B2B SaaS world the scoring seeds were written for,
# and a B2C education world whose vocabulary they do not know.
PROFILES = {p.name: p for p in (synthetic.SAAS, education.EDUCATION)}


def _parse_end(text: str) -> datetime:
    """``--end``: ISO 8601, ``Z`` or an offset converted to naive UTC."""
    text = text.strip()
    if text.endswith(("Z", "z")):
        text = text[:-1] + "+00:00"
    try:
        return utc_naive(datetime.fromisoformat(text))
    except ValueError:
        raise argparse.ArgumentTypeError(f"--end {text!r} is not an ISO date/time") from None


def add_subparser(subparsers: Any) -> argparse.ArgumentParser:
    """Add the ``generate`` sub-command to the ``leadscore`` CLI."""
    p = subparsers.add_parser(
        "generate",
        help="generate synthetic CRM + marketing-automation data",
        description="Generate a synthetic CRM (Parquet, optional Data Loader CSVs) and MAP "
        "activity files (Marketo CSV, JSONL) with a hidden propensity to convert, then load "
        "the CRM into the local sandbox.",
    )
    p.add_argument("--leads", type=count_argument(1), default=5000, help="number of leads (default 5000)")
    p.add_argument("--days", type=count_argument(1), default=90, help="days of history (default 90)")
    p.add_argument("--seed", type=count_argument(0), default=42, help="random seed (default 42)")
    p.add_argument(
        "--profile",
        choices=sorted(PROFILES),
        default="saas",
        help="the world: saas (B2B software, what the scoring seeds know; default) or education "
        "(B2C online courses, a vocabulary the seeds do not know)",
    )
    p.add_argument(
        "--end",
        type=_parse_end,
        default=None,
        help="end of the window, ISO 8601, UTC unless an offset is given (default: now, floored to the hour)",
    )
    p.add_argument(
        "--activities-per-lead", type=float, default=20.0, help="average MAP activities per lead (default 20)"
    )
    p.add_argument(
        "--crm-files",
        action="store_true",
        help="also write Data Loader CSV exports to <landing>/crm/<Object>/",
    )
    p.add_argument("--out", type=Path, default=None, help="output folder (default: $LEADSCORE_VAR/generated)")
    p.add_argument("--no-sandbox", action="store_true", help="do not load the generated CRM into the sandbox")
    p.set_defaults(func=_cli)
    return p


def _cli(args: argparse.Namespace) -> int:
    """Generate, print the counts, then load the CRM into the sandbox unless ``--no-sandbox``."""
    settings = load_settings()
    out_dir = args.out if args.out is not None else settings.var_dir / "generated"
    t0 = time.perf_counter()
    summary = synthetic.generate(
        out_dir,
        settings.landing,
        leads=args.leads,
        days=args.days,
        seed=args.seed,
        end=args.end,
        activities_per_lead=args.activities_per_lead,
        crm_files=args.crm_files,
        profile=PROFILES[args.profile],
    )
    elapsed = time.perf_counter() - t0
    print(
        f"generated {args.profile} {summary['start']} .. {summary['end']} (seed {summary['seed']}) "
        f"in {elapsed:.1f}s -> {out_dir}, landing {settings.landing}"
    )
    width = max(len(k) for k in summary["counts"])
    for key, value in summary["counts"].items():
        print(f"  {key:<{width}}  {value:>12,}")
    if args.no_sandbox:
        return 0
    db = settings.sandbox_dir / "crm.sqlite"
    db.parent.mkdir(parents=True, exist_ok=True)
    loaded = load_parquet_dir(db, out_dir / "crm")
    print(f"loaded into the CRM sandbox {db}:")
    if isinstance(loaded, dict):
        for key, value in loaded.items():
            if isinstance(value, int):
                print(f"  {key:<{width}}  {value:>12,}")
            else:
                print(f"  {key}: {value}")
    else:
        print(f"  {loaded}")
    return 0
