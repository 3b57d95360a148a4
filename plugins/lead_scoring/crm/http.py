"""HTTP behaviour every CRM call gets: retries with exponential backoff and jitter on 429
(honouring ``Retry-After``), 5xx and failed connections; a timeout on every call; API usage
read from ``Sforce-Limit-Info``.

A write (POST/PATCH/PUT/DELETE) whose connection broke or timed out *after* it was sent
may or may not have been applied by the CRM. It is never blindly re-sent (that could write
the same change twice): ``AmbiguousWriteError`` is raised so the caller can reconcile by
reading the records or the job back.
"""

from __future__ import annotations

import logging
import random
import re
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import datetime, timezone
from email.utils import parsedate_to_datetime

import requests
from tenacity import RetryCallState, retry, retry_if_exception_type, retry_if_result, stop_after_attempt

log = logging.getLogger(__name__)

RETRY_STATUSES = frozenset({429, 500, 502, 503, 504})
SAFE_METHODS = frozenset({"GET", "HEAD", "OPTIONS"})
_LIMIT_INFO = re.compile(r"api-usage=(\d+)/(\d+)")


class AmbiguousWriteError(RuntimeError):
    """A write request was sent but no answer came back: it may or may not have landed."""

    def __init__(self, method: str, url: str, cause: Exception) -> None:
        super().__init__(
            f"{method} {url.split('?')[0]} got no answer ({type(cause).__name__}); "
            "it may or may not have been applied"
        )
        self.method = method
        self.url = url


@dataclass
class ApiUsage:
    """The CRM's API counters as last reported, and what this client did; ``server_time``:
    the CRM's clock in its last answer's ``Date`` header (naive UTC, whole seconds)."""

    used: int | None = None
    limit: int | None = None
    calls: int = 0
    retries: int = 0
    by_status: dict[int, int] = field(default_factory=dict)
    server_time: datetime | None = None

    def update(self, response: requests.Response) -> None:
        self.calls += 1
        self.by_status[response.status_code] = self.by_status.get(response.status_code, 0) + 1
        match = _LIMIT_INFO.search(response.headers.get("Sforce-Limit-Info", ""))
        if match:
            self.used, self.limit = int(match.group(1)), int(match.group(2))
        date = response.headers.get("Date")
        if date:
            try:
                moment = parsedate_to_datetime(date)
            except (TypeError, ValueError):
                log.warning("CRM answer with an unreadable Date header %r: server time not updated", date)
            else:
                if moment.tzinfo is not None:  # HTTP dates are GMT; a naive one is taken as UTC
                    moment = moment.astimezone(timezone.utc).replace(tzinfo=None)
                self.server_time = moment

    @property
    def share_used(self) -> float | None:
        return self.used / self.limit if self.used is not None and self.limit else None


@dataclass
class RetryPolicy:
    max_retries: int = 6
    base_delay_s: float = 0.5
    max_delay_s: float = 30.0
    timeout_s: float = 60.0

    def delay(self, attempt: int, retry_after: str | None) -> float:
        if retry_after:
            try:
                return min(float(retry_after), self.max_delay_s)
            except ValueError:
                pass
        backoff = min(self.base_delay_s * 2**attempt, self.max_delay_s)
        return backoff * (0.5 + random.random())  # full jitter around the backoff


def resilient(
    request: Callable[..., requests.Response],
    policy: RetryPolicy,
    usage: ApiUsage,
    sleep: Callable[[float], None] = time.sleep,
) -> Callable[..., requests.Response]:
    """Wrap ``session.request`` with the retry rules above (tenacity runs the attempts). Out
    of attempts, the last answer is returned (a 429 or 5xx response) or the last connection
    error or timeout raised as it came."""

    def log_retry(state: RetryCallState) -> None:
        method, url = state.args
        usage.retries += 1
        log.info(
            "CRM %s %s: %s, retry %d in %.1fs",
            method.upper(),
            url.split("?")[0],
            _reason(state),
            state.attempt_number,
            state.upcoming_sleep,
        )

    @retry(
        stop=stop_after_attempt(policy.max_retries + 1),
        retry=retry_if_exception_type((requests.ConnectionError, requests.Timeout))
        | retry_if_result(lambda response: response.status_code in RETRY_STATUSES),
        wait=lambda state: policy.delay(state.attempt_number - 1, _retry_after(state)),
        before_sleep=log_retry,
        sleep=sleep,
        retry_error_callback=lambda state: state.outcome.result(),  # the last answer, or raise
    )
    def attempt(method: str, url: str, **kwargs) -> requests.Response:
        try:
            response = request(method, url, **kwargs)
        except requests.ConnectTimeout:  # never reached the server: safe to retry
            raise
        except (requests.ConnectionError, requests.Timeout) as error:
            if method.upper() not in SAFE_METHODS:
                raise AmbiguousWriteError(method.upper(), url, error) from error
            raise
        usage.update(response)
        return response

    def call(method: str, url: str, **kwargs) -> requests.Response:
        kwargs.setdefault("timeout", policy.timeout_s)
        return attempt(method, url, **kwargs)

    return call


def _retry_after(state: RetryCallState) -> str | None:
    return None if state.outcome.failed else state.outcome.result().headers.get("Retry-After")


def _reason(state: RetryCallState) -> str:
    if state.outcome.failed:
        return type(state.outcome.exception()).__name__
    return f"HTTP {state.outcome.result().status_code}"
