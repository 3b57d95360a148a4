"""One writer at a time: a lock file beside the warehouse that every writing step holds.

DuckDB takes one writer process; a second one fails on the file lock in the middle of its
work (a second ``leadscore run`` killed the first in ``dbt_build``). Every stage that writes
the warehouse (the pipeline's stages, the SLA monitor's, the write-back) and a whole
``leadscore run`` take this lock first: a second writer *waits* for it, saying who holds it,
and gives up after ``LEADSCORE_LOCK_TIMEOUT_S`` seconds (default 900) with a one-line error
naming the holder. The lock is an ``flock`` on ``<warehouse>.lock``: the operating system
releases it when its process ends, however it ends, so a killed run never leaves it behind.
It is re-entrant within a process (a whole run holds it while its stages take it again).
The Airflow pool ``duckdb_writer`` keeps one Airflow's tasks apart; this lock also keeps
them apart from the command line and from a second Airflow on the same warehouse.
"""

from __future__ import annotations

import fcntl
import functools
import json
import logging
import os
import socket
import sys
import threading
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from pathlib import Path

from lead_scoring.config import UserError

log = logging.getLogger(__name__)

DEFAULT_TIMEOUT_S = 900.0
_held: dict[Path, int] = {}  # lock path -> depth, in this process
_guard = threading.Lock()


def lock_path(warehouse: Path) -> Path:
    return warehouse.with_name(warehouse.name + ".lock")


def timeout_s() -> float:
    value = os.environ.get("LEADSCORE_LOCK_TIMEOUT_S") or str(DEFAULT_TIMEOUT_S)
    try:
        seconds = float(value)
    except ValueError:
        raise UserError(f"LEADSCORE_LOCK_TIMEOUT_S={value!r}; use a number of seconds, e.g. 900") from None
    if seconds < 0:
        raise UserError(f"LEADSCORE_LOCK_TIMEOUT_S={value!r}; use 0 or more seconds")
    return seconds


def holder(path: Path) -> str:
    """Who holds the lock, as its holder wrote it (pid, host, what, since)."""
    try:
        info = json.loads(path.read_text() or "{}")
    except (OSError, ValueError):
        return "another process"
    if not info:
        return "another process"
    where = f"PID {info.get('pid')} on {info.get('host')}, since {info.get('since')}"
    return f"{info.get('what', 'a writer')} ({where})"


@contextmanager
def holding(warehouse: Path, what: str, wait_s: float | None = None) -> Iterator[None]:
    """Hold the warehouse's writer lock inside the block (waiting up to ``wait_s``)."""
    path = lock_path(warehouse)
    with _guard:
        if _held.get(path):
            _held[path] += 1
            reentered = True
        else:
            reentered = False
    if reentered:
        try:
            yield
        finally:
            with _guard:
                _held[path] -= 1
        return
    fd = _take(path, what, timeout_s() if wait_s is None else wait_s)
    try:
        with _guard:
            _held[path] = 1
        try:
            yield
        finally:
            with _guard:
                _held.pop(path, None)
            os.ftruncate(fd, 0)
            fcntl.flock(fd, fcntl.LOCK_UN)
    finally:
        os.close(fd)


def _take(path: Path, what: str, wait_s: float) -> int:
    """Open and lock ``path`` (waiting up to ``wait_s``) and write who holds it; the fd."""
    path.parent.mkdir(parents=True, exist_ok=True)
    fd = os.open(path, os.O_RDWR | os.O_CREAT, 0o644)
    try:
        _acquire(fd, path, what, wait_s)
    except BaseException:
        os.close(fd)
        raise
    os.ftruncate(fd, 0)
    os.write(
        fd,
        json.dumps(
            {
                "pid": os.getpid(),
                "host": socket.gethostname(),
                "what": what,
                "since": time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime()),
                "argv": " ".join(sys.argv[:3]),
            }
        ).encode(),
    )
    return fd


def _acquire(fd: int, path: Path, what: str, wait_s: float) -> None:
    deadline = time.monotonic() + wait_s
    said = False
    while True:
        try:
            fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
            if said:
                log.info("%s: the warehouse is free, going on", what)
            return
        except BlockingIOError:
            pass
        if time.monotonic() >= deadline:
            raise UserError(
                f"{what}: the warehouse is in use by {holder(path)}; gave up after {wait_s:.0f} s "
                "(LEADSCORE_LOCK_TIMEOUT_S). Try again when it finishes"
            )
        if not said:
            log.info("%s: waiting for the warehouse, in use by %s", what, holder(path))
            said = True
        time.sleep(0.5)


_process_locks: list[int] = []


def hold_for_process(warehouse: Path, what: str) -> None:
    """Take the writer lock until this process ends (the cosmos dbt task, whose dbt run is
    not ours to wrap: Airflow calls this as the task's ``pre_execute``). Re-entrant like
    ``holding``; the operating system releases it with the process."""
    path = lock_path(warehouse)
    with _guard:
        if _held.get(path):
            return
    _process_locks.append(_take(path, what, timeout_s()))
    with _guard:
        _held[path] = 1


def writes_warehouse(stage: Callable[..., dict]) -> Callable[..., dict]:
    """Run a stage ``stage(ctx, ...)`` holding its warehouse's writer lock."""

    @functools.wraps(stage)
    def run(*args, **kwargs) -> dict:
        ctx = args[0] if args else kwargs["ctx"]
        with holding(ctx.settings.warehouse, f"{stage.__name__} of run {ctx.run_id}"):
            return stage(*args, **kwargs)

    return run
