"""The installed ``leadscore`` command: the product's commands (``lead_scoring.cli``) and the
development ones: ``generate`` (synthetic data), ``sandbox`` (the local CRM), ``demo``,
``bench`` and ``airflow`` (the standalone UI with the sandbox)."""

from __future__ import annotations

import argparse
import sys

from lead_scoring.cli import add_product_commands, new_parser, run_parsed
from lead_scoring.config import load_settings
from lead_scoring.run_context import port_argument
from lead_scoring_dev.bench.harness import add_subparser as add_bench
from lead_scoring_dev.demo import add_subparser as add_demo
from lead_scoring_dev.generate.cli import add_subparser as add_generate
from lead_scoring_dev.sandbox_cli import add_subparser as add_sandbox


def cmd_airflow(args: argparse.Namespace) -> int:
    from lead_scoring_dev.standalone import run_standalone  # noqa: PLC0415 - imports Airflow's helpers

    return run_standalone(load_settings(), port=args.port)


def build_parser() -> argparse.ArgumentParser:
    parser, sub = new_parser()
    add_generate(sub)
    add_sandbox(sub)
    add_demo(sub)
    add_bench(sub)
    add_product_commands(sub)
    standalone = sub.add_parser("airflow", help="Airflow standalone UI with the sandbox (make airflow)")
    standalone.add_argument(
        "--port",
        type=port_argument,
        default=8080,
        help="the UI's port (default 8080); the others are picked free",
    )
    standalone.set_defaults(func=cmd_airflow)
    return parser


def main(argv: list[str] | None = None) -> int:
    return run_parsed(build_parser(), argv)


if __name__ == "__main__":
    sys.exit(main())
