"""What every stage of a run shares: the run's id, its ``as_of`` and the settings
(``RunContext``), the ``timed`` stage wrapper, and the CRM client of the run.

``pipeline`` (the hourly stages) and ``sla_monitor`` (the 5-minute DAG) both build on this
module; it imports neither.
"""

from __future__ import annotations

import argparse
import functools
import logging
import re
import time
from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime, timezone
from pathlib import Path

from lead_scoring import run_logging
from lead_scoring.config import Settings, UserError, load_settings
from lead_scoring.crm.client import resolve_connection, salesforce

log = logging.getLogger(__name__)


@dataclass(frozen=True)
class RunContext:
    run_id: str
    as_of: datetime  # naive UTC
    settings: Settings

    @property
    def run_dir(self) -> Path:
        return self.settings.runs_dir / self.run_id


def timed(stage: Callable[..., dict]) -> Callable[..., dict]:
    """Add the stage's wall time as ``duration_s`` to the dict it returns (for ops.runs);
    while it runs, log records carry the run id and the stage name."""

    @functools.wraps(stage)
    def run(*args, **kwargs) -> dict:
        ctx = args[0] if args and isinstance(args[0], RunContext) else kwargs.get("ctx")
        with run_logging.bound(run_id=ctx.run_id if ctx else None, stage=stage.__name__):
            started = time.perf_counter()
            result = stage(*args, **kwargs)
            result["duration_s"] = round(time.perf_counter() - started, 2)
            log.info("stage %s done in %.1fs", stage.__name__, result["duration_s"])
        return result

    return run


AS_OF_FORM = "an ISO-8601 instant in UTC, e.g. 2026-12-05T10:00, 2026-12-05 10:00:00 or 2026-12-05T10:00:00Z"


def parse_as_of(value: str | datetime) -> datetime:
    """A naive-UTC datetime from an ISO string or datetime (aware values are converted)."""
    if isinstance(value, str):
        try:
            value = datetime.fromisoformat(value.strip().replace("Z", "+00:00"))
        except ValueError:
            raise UserError(f"{value!r} is not {AS_OF_FORM}") from None
    if value.tzinfo is not None:
        value = value.astimezone(timezone.utc).replace(tzinfo=None)
    return value


def as_of_argument(value: str) -> str:
    """argparse ``type`` of every instant option: the normalised ISO text, or a usage error
    that names the value and the expected form."""
    try:
        return parse_as_of(value).isoformat()
    except UserError as error:
        raise argparse.ArgumentTypeError(str(error)) from None


def safe_run_id(raw: str) -> str:
    """A run id usable as a folder name under runs/ (Airflow's contain ':' and '+'); one that
    names no folder of its own (``..``, ``/``) is a UserError: a run id never leaves runs/."""
    safe = re.sub(r"[^A-Za-z0-9_.-]+", "_", raw).strip("_.")
    if not safe:
        raise UserError(f"run id {raw!r} names no folder; use letters, digits, '_', '-' or '.'")
    return safe


def run_id_argument(value: str) -> str:
    """argparse ``type`` of ``--run-id``: the folder-safe id, or a usage error."""
    try:
        return safe_run_id(value)
    except UserError as error:
        raise argparse.ArgumentTypeError(str(error)) from None


def count_argument(minimum: int) -> Callable[[str], int]:
    """argparse ``type`` of a count option: a whole number at least ``minimum``, or a usage
    error naming the value."""

    def parse(value: str) -> int:
        try:
            number = int(value)
        except ValueError:
            number = None
        if number is None or number < minimum:
            raise argparse.ArgumentTypeError(f"{value!r} is not a whole number >= {minimum}")
        return number

    return parse


def port_argument(value: str) -> int:
    """argparse ``type`` of a TCP port: 1 to 65535 (0: pick a free one, where allowed)."""
    number = count_argument(0)(value)
    if number > 65535:
        raise argparse.ArgumentTypeError(f"{value!r} is not a port (0 to 65535)")
    return number


def make_context(run_id: str, as_of: str | datetime, settings: Settings | None = None) -> RunContext:
    return RunContext(safe_run_id(run_id), parse_as_of(as_of), settings or load_settings())


def crm_client(ctx: RunContext):
    """The run's simple-salesforce client: the Airflow connection inside a task, else
    ``AIRFLOW_CONN_SALESFORCE_DEFAULT`` or the running sandbox (``crm.client``)."""

    return salesforce(resolve_connection(ctx.settings.sandbox_dir))
