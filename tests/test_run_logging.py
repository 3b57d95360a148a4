"""Structured logs: every lead_scoring record carries the run id and stage, JSON when asked,
and no e-mail address or secret reaches a log line."""

from __future__ import annotations

import io
import json
import logging

import pytest

from lead_scoring import run_logging
from lead_scoring.run_context import make_context, timed


@pytest.fixture
def capture():
    """configure() into a buffer; the root handler and level are restored afterwards."""
    root = logging.getLogger()
    level, handlers = root.level, list(root.handlers)
    buffers = []

    def start(fmt: str, level: int = logging.DEBUG) -> io.StringIO:
        buffer = io.StringIO()
        run_logging.configure(level, stream=buffer, fmt=fmt)
        buffers.append(buffer)
        return buffer

    yield start
    root.handlers[:] = handlers
    root.setLevel(level)


def test_json_records_carry_run_id_stage_level_message_timestamp(capture):
    buffer = capture("json")
    log = logging.getLogger("lead_scoring.load.raw")
    with run_logging.bound(run_id="manual_2026", stage="load_raw"):
        log.warning("batch %s: %d rows quarantined", "map:a.csv", 3)
    log.info("outside any run")
    first, second = (json.loads(line) for line in buffer.getvalue().splitlines())
    assert first["run_id"] == "manual_2026" and first["stage"] == "load_raw"
    assert first["level"] == "WARNING" and first["logger"] == "lead_scoring.load.raw"
    assert first["message"] == "batch map:a.csv: 3 rows quarantined"
    assert first["timestamp"].endswith("+00:00") and "T" in first["timestamp"]
    assert second["run_id"] == "-" and second["stage"] == "-"


def test_text_format_shows_the_run_id(capture, monkeypatch):
    monkeypatch.delenv("LEADSCORE_LOG_FORMAT", raising=False)
    buffer = io.StringIO()
    run_logging.configure(logging.INFO, stream=buffer)  # default: text
    with run_logging.bound(run_id="r42", stage="write_back_crm"):
        logging.getLogger("lead_scoring.reverse_etl.writer").info("sent %d rows", 5)
    line = buffer.getvalue().strip()
    assert "[run r42 write_back_crm]" in line and line.endswith(
        "lead_scoring.reverse_etl.writer: sent 5 rows"
    )
    logging.getLogger().handlers[:] = [
        h for h in logging.getLogger().handlers if not getattr(h, "leadscore", 0)
    ]


def test_the_stage_decorator_binds_run_and_stage(capture):
    buffer = capture("json")

    @timed
    def load_raw(ctx):
        logging.getLogger("lead_scoring.pipeline").info("inside")
        return {}

    load_raw(make_context("manual__2026-11-01T10:00:00+00:00", "2026-11-01T10:00:00"))
    records = [json.loads(line) for line in buffer.getvalue().splitlines()]
    assert [r["message"] for r in records][0] == "inside"
    assert {(r["run_id"], r["stage"]) for r in records} == {("manual__2026-11-01T10_00_00_00_00", "load_raw")}


def test_emails_and_secrets_never_reach_a_log_line(capture):
    buffer = capture("json")
    run_logging.register_secret("00Dsandbox!SeSsIoNtOkEn123")
    log = logging.getLogger("lead_scoring.quality.gx_checks")
    log.warning("GX warning: unexpected values ['Jane.Doe+x@Example.co.uk', 'bob@acme.io']")
    log.info("Authorization: Bearer abc.def-ghi password=hunter2 {'security_token': 'XyZ987'}")
    log.info("session %s", "00Dsandbox!SeSsIoNtOkEn123")
    try:
        raise ValueError("duplicate key jane@acme.io")
    except ValueError:
        log.exception("load failed")
    logging.getLogger("third.party").info("echo ann@corp.example")  # other loggers: formatter redacts
    text = buffer.getvalue()
    for leaked in (
        "Jane.Doe",
        "bob@acme.io",
        "abc.def-ghi",
        "hunter2",
        "XyZ987",
        "SeSsIoNtOkEn",
        "jane@",
        "ann@",
    ):
        assert leaked not in text, leaked
    messages = [json.loads(line)["message"] for line in text.splitlines()]
    assert messages[0] == "GX warning: unexpected values ['<email>', '<email>']"
    assert "Bearer ***" in messages[1] and "password=***" in messages[1]
    assert "<email>" in json.loads(text.splitlines()[3])["exception"]


def test_records_are_redacted_at_creation_for_any_handler(caplog):
    run_logging.install()
    with caplog.at_level(logging.INFO, logger="lead_scoring"):
        logging.getLogger("lead_scoring.x").info("contact %s", "someone@example.com")
    assert caplog.records[-1].getMessage() == "contact <email>"


def test_an_unknown_log_format_is_a_clear_error(monkeypatch):
    monkeypatch.setenv("LEADSCORE_LOG_FORMAT", "yaml")
    with pytest.raises(ValueError, match="LEADSCORE_LOG_FORMAT='yaml' .* use text or json"):
        run_logging.log_format()


def test_nameless_records_from_make_log_record_pass_through():
    """structlog's stdlib formatter (Airflow's task logs) rebuilds records with
    logging.makeLogRecord, which creates them without a name first."""
    run_logging.install()
    record = logging.makeLogRecord({"name": "airflow.task", "msg": "hello"})
    assert record.getMessage() == "hello"
    assert hasattr(record, "run_id")
