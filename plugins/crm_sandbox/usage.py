"""API call counting: the daily limit (``Sforce-Limit-Info``) and per-kind statistics.

Counts live in memory (every request touches them) and are flushed to the ``_api_usage``
table every few seconds and at shutdown, so the daily usage survives a restart without a
database write per request.
"""

from __future__ import annotations

import os
import threading
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

    def add_busy(self, kind: str, seconds: float) -> None:
        """Count ``seconds`` of the server's own work on ``kind`` (a request's handling, from
        reading it to answering; ``bulk_processing``: a Bulk job applied by the worker)."""
        with self._lock:
            self.busy_s[kind] = self.busy_s.get(kind, 0.0) + seconds

    def used(self) -> int:
        """Today's API calls."""
        with self._lock:
            self._roll_day()
            return sum(self._daily.values())

    def limit_header(self) -> str:
        """The ``Sforce-Limit-Info`` header value."""
        return f"api-usage={self.used()}/{self.limit}"

    def snapshot(self) -> dict[str, Any]:
        """Counts and busy seconds per kind since the last reset, for ``GET /_sandbox/stats``."""
        with self._lock:
            counts = dict(sorted(self.stats.items()))
            busy = {kind: round(seconds, 4) for kind, seconds in sorted(self.busy_s.items())}
            return {
                "since": self.stats_since.isoformat(),
                "total": sum(counts.values()),
                "counts": counts,
                "busy_s": busy,
                "busy_total_s": round(sum(self.busy_s.values()), 4),
                "api_usage": {"used": sum(self._daily.values()), "limit": self.limit},
            }

    def reset_stats(self) -> None:
        """Zero the statistics (not the daily usage)."""
        with self._lock:
            self.stats = {}
            self.busy_s = {}
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
