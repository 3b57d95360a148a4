"""The CRM retry policy (``lead_scoring.crm.http.resilient``) against a scripted transport:
which answers are retried, how long it waits, what it logs and what it raises or returns
when the attempts run out. No network and no real sleep (the sleep is recorded)."""

from __future__ import annotations

import logging

import pytest
import requests

from lead_scoring.crm import http
from lead_scoring.crm.http import AmbiguousWriteError, ApiUsage, RetryPolicy, resilient

URL = "https://crm.example/services/data/v59.0/query/?q=SELECT+Id+FROM+Lead"


def answer(status: int, **headers: str) -> requests.Response:
    response = requests.Response()
    response.status_code = status
    response.headers.update(headers)
    return response


class Transport:
    """Plays ``script`` in order: a response is returned, an exception raised."""

    def __init__(self, *script: requests.Response | Exception) -> None:
        self.script = list(script)
        self.calls: list[tuple[str, str, dict]] = []

    def __call__(self, method: str, url: str, **kwargs) -> requests.Response:
        self.calls.append((method, url, kwargs))
        step = self.script.pop(0)
        if isinstance(step, Exception):
            raise step
        return step


def client(transport: Transport, policy: RetryPolicy | None = None):
    sleeps: list[float] = []
    usage = ApiUsage()
    call = resilient(transport, policy or RetryPolicy(), usage, sleep=sleeps.append)
    return call, sleeps, usage


def test_429_waits_as_long_as_retry_after_says(caplog: pytest.LogCaptureFixture) -> None:
    transport = Transport(answer(429, **{"Retry-After": "2"}), answer(200))
    call, sleeps, usage = client(transport)
    with caplog.at_level(logging.INFO, logger="lead_scoring.crm.http"):
        assert call("get", URL).status_code == 200
    assert sleeps == [2.0]
    assert (usage.calls, usage.retries, usage.by_status) == (2, 1, {429: 1, 200: 1})
    assert caplog.messages == [
        "CRM GET https://crm.example/services/data/v59.0/query/: HTTP 429, retry 1 in 2.0s"
    ]


def test_retry_after_is_capped_and_an_unreadable_one_falls_back_to_backoff(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    monkeypatch.setattr(http.random, "random", lambda: 0.5)  # jitter factor 1.0
    transport = Transport(
        answer(503, **{"Retry-After": "120"}),
        answer(429, **{"Retry-After": "Wed, 21 Oct 2026 07:28:00 GMT"}),
        answer(200),
    )
    call, sleeps, _ = client(transport, RetryPolicy(base_delay_s=0.5, max_delay_s=30.0))
    assert call("GET", URL).status_code == 200
    assert sleeps == [30.0, 1.0]  # capped at max_delay_s; then the 2nd backoff, 0.5 * 2


@pytest.mark.parametrize("draw, factor", [(0.0, 0.5), (0.999, 1.499)])
def test_backoff_doubles_up_to_the_cap_with_jitter(
    monkeypatch: pytest.MonkeyPatch, draw: float, factor: float
) -> None:
    monkeypatch.setattr(http.random, "random", lambda: draw)
    transport = Transport(*[answer(500)] * 7)
    call, sleeps, usage = client(transport, RetryPolicy(max_retries=6, base_delay_s=1.0, max_delay_s=10.0))
    last = call("GET", URL)
    # out of attempts on a retryable status: the last answer is returned, not raised
    assert last.status_code == 500 and len(transport.calls) == 7
    assert sleeps == pytest.approx([b * factor for b in (1, 2, 4, 8, 10, 10)])
    assert (usage.calls, usage.retries) == (7, 6)


@pytest.mark.parametrize("status", [502, 503, 504])
def test_every_5xx_gateway_status_is_retried(status: int) -> None:
    call, sleeps, _ = client(Transport(answer(status), answer(200)))
    assert call("GET", URL).status_code == 200 and len(sleeps) == 1


@pytest.mark.parametrize("status", [200, 201, 204, 400, 401, 404, 501])
def test_other_statuses_are_returned_at_once(status: int) -> None:
    transport = Transport(answer(status))
    call, sleeps, usage = client(transport)
    assert call("PATCH", URL).status_code == status
    assert sleeps == [] and usage.retries == 0 and len(transport.calls) == 1


def test_a_read_that_never_connects_is_retried_then_raised(caplog: pytest.LogCaptureFixture) -> None:
    final = requests.ConnectionError("refused 3")
    transport = Transport(requests.ConnectionError("refused 1"), requests.ReadTimeout("slow"), final)
    call, sleeps, usage = client(transport, RetryPolicy(max_retries=2))
    with caplog.at_level(logging.INFO, logger="lead_scoring.crm.http"):
        with pytest.raises(requests.ConnectionError) as raised:
            call("GET", URL)
    assert raised.value is final
    assert len(sleeps) == 2 and usage.retries == 2 and usage.calls == 0
    assert [m.split(": ")[1].split(",")[0] for m in caplog.messages] == ["ConnectionError", "ReadTimeout"]


@pytest.mark.parametrize("error", [requests.ReadTimeout("slow"), requests.ConnectionError("reset")])
@pytest.mark.parametrize("method", ["POST", "patch", "PUT", "DELETE"])
def test_a_write_without_an_answer_is_never_resent(method: str, error: Exception) -> None:
    transport = Transport(error, answer(200))
    call, sleeps, usage = client(transport)
    with pytest.raises(AmbiguousWriteError) as raised:
        call(method, URL, json={"a": 1})
    assert str(raised.value) == (
        f"{method.upper()} https://crm.example/services/data/v59.0/query/ got no answer "
        f"({type(error).__name__}); it may or may not have been applied"
    )
    assert raised.value.__cause__ is error and raised.value.method == method.upper()
    assert len(transport.calls) == 1 and sleeps == [] and usage.retries == 0


def test_a_write_that_never_connected_is_retried() -> None:
    transport = Transport(requests.ConnectTimeout("no route"), answer(200))
    call, sleeps, _ = client(transport)
    assert call("POST", URL).status_code == 200 and len(sleeps) == 1


def test_a_connect_timeout_on_the_last_attempt_is_raised_as_is() -> None:
    final = requests.ConnectTimeout("no route 2")
    call, sleeps, _ = client(
        Transport(requests.ConnectTimeout("no route 1"), final), RetryPolicy(max_retries=1)
    )
    with pytest.raises(requests.ConnectTimeout) as raised:
        call("POST", URL)
    assert raised.value is final and len(sleeps) == 1


def test_other_errors_are_not_retried() -> None:
    transport = Transport(requests.exceptions.InvalidURL("bad"), answer(200))
    call, sleeps, _ = client(transport)
    with pytest.raises(requests.exceptions.InvalidURL):
        call("GET", URL)
    assert len(transport.calls) == 1 and sleeps == []


def test_no_retries_means_one_attempt() -> None:
    transport = Transport(answer(503), answer(200))
    call, sleeps, _ = client(transport, RetryPolicy(max_retries=0))
    assert call("GET", URL).status_code == 503 and sleeps == [] and len(transport.calls) == 1


def test_every_call_has_a_timeout_and_the_api_usage_is_read() -> None:
    transport = Transport(answer(200, **{"Sforce-Limit-Info": "api-usage=41/15000"}), answer(200))
    call, _, usage = client(transport, RetryPolicy(timeout_s=7.0))
    call("GET", URL, params={"a": 1})
    call("GET", URL, timeout=2)
    assert [c[2]["timeout"] for c in transport.calls] == [7.0, 2]
    assert transport.calls[0][2]["params"] == {"a": 1}
    assert (usage.used, usage.limit, usage.share_used) == (41, 15000, 41 / 15000)
