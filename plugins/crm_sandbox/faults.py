"""Seeded fault injection: HTTP 429 / 5xx, slow responses (timeouts) and per-row rejections.

A spec is a comma-separated list of ``kind:rate`` with rates in [0, 1]::

    429:0.1,500:0.05,timeout:0.02,row_error:0.01

Kinds: ``429``, any 5xx status (``500``, ``502``, ``503``, ``504``), ``timeout`` (the answer is
delayed longer than the client timeout, ``LEADSCORE_SANDBOX_TIMEOUT_S``, default 5 s, then
sent normally: the request *is* processed, as when a real network times out),
``row_error`` (a record is rejected with ``UNABLE_TO_LOCK_ROW`` in Collections and Bulk
jobs) and ``job_failure`` (a Bulk ingest job ends ``Failed`` after processing the first half
of its rows: those are applied and listed in its results, the rest are unprocessed). Draws
come from one seeded ``random.Random``, so a test gets the same faults for the
same sequence of calls. Faults never apply to ``/_sandbox/*``.
"""

from __future__ import annotations

import os
import random
import threading
from typing import Any

REQUEST_KINDS = ("429", "timeout")  # plus any 5xx status
ROW_ERROR = "row_error"
JOB_FAILURE = "job_failure"
NOT_PER_REQUEST = (ROW_ERROR, JOB_FAILURE)


def parse_spec(spec: str | None) -> dict[str, float]:
    """Parse ``"429:0.1,500:0.05"`` into ``{"429": 0.1, "500": 0.05}``. Raises ValueError."""
    rates: dict[str, float] = {}
    if not spec or not spec.strip():
        return rates
    for part in spec.split(","):
        part = part.strip()
        if not part:
            continue
        kind, sep, rate_text = part.partition(":")
        kind = kind.strip().lower()
        if not sep:
            raise ValueError(f"fault {part!r}: expected kind:rate, e.g. 429:0.1")
        valid = kind in ("429", "timeout", *NOT_PER_REQUEST) or (
            kind.isdigit() and len(kind) == 3 and kind.startswith("5")
        )
        if not valid:
            raise ValueError(
                f"unknown fault kind {kind!r}; use 429, 5xx (500, 502, 503, 504), timeout, row_error "
                "or job_failure"
            )
        try:
            rate = float(rate_text)
        except ValueError:
            raise ValueError(f"fault {part!r}: rate {rate_text!r} is not a number") from None
        if not 0.0 <= rate <= 1.0:
            raise ValueError(f"fault {part!r}: rate must be between 0 and 1")
        rates[kind] = rate
    request_total = sum(r for k, r in rates.items() if k not in NOT_PER_REQUEST)
    if request_total > 1.0:
        raise ValueError(f"fault rates per request add up to {request_total} > 1")
    return rates


def format_spec(rates: dict[str, float]) -> str:
    """The spec string of parsed rates."""
    return ",".join(f"{k}:{v:g}" for k, v in rates.items())


def default_timeout_s() -> float:
    """``LEADSCORE_SANDBOX_TIMEOUT_S`` (default 5)."""
    return float(os.environ.get("LEADSCORE_SANDBOX_TIMEOUT_S") or 5)


class FaultInjector:
    """Thread-safe, seeded fault draws and a count of what was injected."""

    def __init__(
        self, spec: str | None = None, seed: int | None = None, timeout_s: float | None = None
    ) -> None:
        self._lock = threading.Lock()
        self.rates: dict[str, float] = {}
        self.seed: int | None = None
        self.timeout_s = timeout_s if timeout_s is not None else default_timeout_s()
        self.injected: dict[str, int] = {}
        self._random = random.Random()
        self.configure(spec, seed)

    def configure(self, spec: str | None, seed: int | None = None, timeout_s: float | None = None) -> None:
        """Replace the rates (and reseed the generator). Raises ValueError on a bad spec."""
        rates = parse_spec(spec)
        with self._lock:
            self.rates = rates
            self.seed = seed
            self._random = random.Random(seed)
            if timeout_s is not None:
                self.timeout_s = float(timeout_s)

    def describe(self) -> dict[str, Any]:
        """The current configuration and injection counts (for ``GET /_sandbox/faults``)."""
        with self._lock:
            return {
                "spec": format_spec(self.rates),
                "rates": dict(self.rates),
                "seed": self.seed,
                "timeout_s": self.timeout_s,
                "injected": dict(self.injected),
            }

    def draw_request(self) -> str | None:
        """One draw per API request: ``"429"``, a 5xx status, ``"timeout"`` or None."""
        with self._lock:
            request_rates = [(k, r) for k, r in self.rates.items() if k not in NOT_PER_REQUEST and r > 0]
            if not request_rates:
                return None
            u = self._random.random()
            acc = 0.0
            for kind, rate in request_rates:
                acc += rate
                if u < acc:
                    self.injected[kind] = self.injected.get(kind, 0) + 1
                    return kind
            return None

    def draw_row(self) -> bool:
        """One draw per record: True means reject it with ``UNABLE_TO_LOCK_ROW``."""
        return self._draw(ROW_ERROR)

    def draw_job(self) -> bool:
        """One draw per Bulk ingest job: True means it fails after half of its rows."""
        return self._draw(JOB_FAILURE)

    def _draw(self, kind: str) -> bool:
        with self._lock:
            rate = self.rates.get(kind, 0.0)
            if rate <= 0:
                return False
            hit = self._random.random() < rate
            if hit:
                self.injected[kind] = self.injected.get(kind, 0) + 1
            return hit
