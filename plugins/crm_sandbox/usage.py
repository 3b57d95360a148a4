"""API call counting: the daily limit (``Sforce-Limit-Info``) and per-kind statistics.

Counts live in memory (every request touches them) and are flushed to the ``_api_usage``
table every few seconds and at shutdown, so the daily usage survives a restart without a
database write per request.
"""

from __future__ import annotations

import os
import threading
import time
from datetime import UTC, datetime
from typing import Any

from crm_sandbox.store import Store

DEFAULT_DAILY_LIMIT = 100_000


def daily_limit_from_env() -> int:
    """``LEADSCORE_SANDBOX_API_LIMIT`` (default 100000 calls per UTC day)."""
    raw = os.environ.get("LEADSCORE_SANDBOX_API_LIMIT") or ""
    if not raw:
        return DEFAULT_DAILY_LIMIT
    try:
        value = int(raw)
    except ValueError:
        raise ValueError(f"LEADSCORE_SANDBOX_API_LIMIT={raw!r} is not an integer") from None
    if value <= 0:
        raise ValueError("LEADSCORE_SANDBOX_API_LIMIT must be positive")
    return value


def _today() -> str:
    return datetime.now(UTC).date().isoformat()


class UsageCounter:
    """Daily API usage per kind (persisted) and resettable statistics (in memory)."""

    def __init__(self, store: Store, limit: int | None = None) -> None:
        self.store = store
        self.limit = limit if limit is not None else daily_limit_from_env()
        self._lock = threading.Lock()
        self._day = _today()
        self._daily: dict[str, int] = {}
        self._dirty: dict[tuple[str, str], int] = {}
        self.stats: dict[str, int] = {}
        self.busy_s: dict[str, float] = {}
        self._busy_wall_s = 0.0
        self._active = 0
        self._active_since = 0.0
        self.stats_since = datetime.now(UTC)
        with store.read() as conn:
            for kind, calls in conn.execute("SELECT kind, calls FROM _api_usage WHERE day = ?", (self._day,)):
                self._daily[kind] = int(calls)

    def _roll_day(self) -> None:
        today = _today()
        if today != self._day:
            self._day = today
            self._daily = {}

    def record(self, kind: str) -> int:
        """Count one API call of ``kind``; returns today's total usage."""
        with self._lock:
            self._roll_day()
            self._daily[kind] = self._daily.get(kind, 0) + 1
            key = (self._day, kind)
            self._dirty[key] = self._dirty.get(key, 0) + 1
            self.stats[kind] = self.stats.get(kind, 0) + 1
            return sum(self._daily.values())

    def start_busy(self) -> float:
        """The server starts a piece of its own work (a request, a Bulk job); returns its
        start for :meth:`end_busy`."""
        now = time.perf_counter()
        with self._lock:
            if self._active == 0:
                self._active_since = now
            self._active += 1
        return now

    def end_busy(self, kind: str, started: float) -> None:
        """That work ended: its seconds count for ``kind`` (a request's kind, or
        ``bulk_processing`` for a job applied by the worker). Work on several threads at once
        (a poll while the worker applies a job) adds up per kind, and counts once in the
        total: the wall time during which the server was doing anything."""
        now = time.perf_counter()
        with self._lock:
            self._active -= 1
            if self._active == 0:
                self._busy_wall_s += now - self._active_since
            self.busy_s[kind] = self.busy_s.get(kind, 0.0) + now - started

    def _busy_total_s(self) -> float:
        running = time.perf_counter() - self._active_since if self._active else 0.0
        return self._busy_wall_s + running

    def used(self) -> int:
        """Today's API calls."""
        with self._lock:
            self._roll_day()
            return sum(self._daily.values())

    def limit_header(self) -> str:
        """The ``Sforce-Limit-Info`` header value."""
        return f"api-usage={self.used()}/{self.limit}"

    def snapshot(self) -> dict[str, Any]:
        """Counts and busy seconds per kind since the last reset, and the seconds the server was
        busy at all (``busy_total_s``), for ``GET /_sandbox/stats``."""
        with self._lock:
            counts = dict(sorted(self.stats.items()))
            busy = {kind: round(seconds, 4) for kind, seconds in sorted(self.busy_s.items())}
            return {
                "since": self.stats_since.isoformat(),
                "total": sum(counts.values()),
                "counts": counts,
                "busy_s": busy,
                "busy_total_s": round(self._busy_total_s(), 4),
                "api_usage": {"used": sum(self._daily.values()), "limit": self.limit},
            }

    def reset_stats(self) -> None:
        """Zero the statistics (not the daily usage)."""
        with self._lock:
            self.stats = {}
            self.busy_s = {}
            self._busy_wall_s = 0.0
            self._active_since = time.perf_counter()
            self.stats_since = datetime.now(UTC)

    def flush(self) -> None:
        """Persist the calls counted since the last flush (without blocking the counters
        while the database is busy)."""
        with self._lock:
            pending = self._dirty
            self._dirty = {}
        if not pending:
            return
        try:
            with self.store.write() as conn:
                conn.executemany(
                    "INSERT INTO _api_usage (day, kind, calls) VALUES (?, ?, ?) "
                    "ON CONFLICT (day, kind) DO UPDATE SET calls = calls + excluded.calls",
                    [(day, kind, n) for (day, kind), n in pending.items()],
                )
        except Exception:  # noqa: BLE001 - keep counting; retry at the next flush
            with self._lock:
                for key, n in pending.items():
                    self._dirty[key] = self._dirty.get(key, 0) + n
