"""Logs that say which run and stage they belong to, and never carry e-mails or secrets.

* Every log record gets ``run_id`` and ``stage`` attributes from context variables bound
  where a run starts: ``bound(run_id=..., stage=...)`` around each pipeline stage (the
  ``timed`` decorator) and ``bind_task`` in an Airflow task (there they are also bound as
  structlog context variables, so Airflow's JSON task log carries them).
* Records of the ``lead_scoring`` loggers are redacted when they are created, whatever
  handler prints them: e-mail addresses become ``<email>``; passwords, tokens, session ids
  and ``Bearer`` credentials become ``***``, as do the CRM connection's secret values
  (``register_secret``).
* ``configure()`` (the ``leadscore`` CLI) prints either human text with the run id
  (default) or one JSON object per line (``LEADSCORE_LOG_FORMAT=json``: ``timestamp``,
  ``level``, ``logger``, ``run_id``, ``stage``, ``message``, ``exception``).
"""

from __future__ import annotations

import json
import logging
import os
import re
import sys
import warnings
from collections.abc import Iterator
from contextlib import contextmanager
from contextvars import ContextVar
from datetime import datetime, timezone
from typing import TextIO

NO_RUN = "-"
_RUN_ID: ContextVar[str] = ContextVar("leadscore_run_id", default=NO_RUN)
_STAGE: ContextVar[str] = ContextVar("leadscore_stage", default=NO_RUN)
_SECRETS: set[str] = set()
_INSTALLED = {"factory": None}

TEXT_FORMAT = "%(asctime)s %(levelname)s [run %(run_id)s %(stage)s] %(name)s: %(message)s"
FORMATS = ("text", "json")
NOISY_LOGGERS = ("great_expectations", "urllib3", "simple_salesforce")

EMAIL = re.compile(r"[A-Za-z0-9._%+-]+@[A-Za-z0-9-]+(?:\.[A-Za-z0-9-]+)+")
BEARER = re.compile(r"\b(Bearer|OAuth)\s+[A-Za-z0-9._~+/=!-]+", re.IGNORECASE)
SECRET_ASSIGNMENT = re.compile(
    r"\b(password|passwd|pwd|secret|client_secret|consumer_secret|token|security_token|access_token"
    r"|refresh_token|session_id|sessionid|sid|api_key|apikey)(['\"]?\s*[=:]\s*['\"]?)[^\s'\",;&}]+",
    re.IGNORECASE,
)


def redact(text: str) -> str:
    """``text`` without e-mail addresses, credentials or registered secret values."""
    for secret in sorted(_SECRETS, key=len, reverse=True):
        text = text.replace(secret, "***")
    text = BEARER.sub(lambda m: f"{m.group(1)} ***", text)
    text = SECRET_ASSIGNMENT.sub(lambda m: f"{m.group(1)}{m.group(2)}***", text)
    return EMAIL.sub("<email>", text)


def register_secret(*values: str | None) -> None:
    """Values (passwords, session ids, tokens) that must never appear in a log line."""
    _SECRETS.update(v for v in values if v and len(v) >= 6)


def current_run_id() -> str:
    return _RUN_ID.get()


def _is_ours(name: str | None) -> bool:
    # logging.makeLogRecord (used by structlog's stdlib formatter) creates nameless records.
    return bool(name) and (name == "lead_scoring" or name.startswith("lead_scoring."))


def install() -> None:
    """Stamp ``run_id``/``stage`` on every record and redact ``lead_scoring`` records at
    creation (a LogRecord factory wrapping the current one; idempotent)."""
    if _INSTALLED["factory"] is not None:
        return
    previous = logging.getLogRecordFactory()

    def factory(*args, **kwargs) -> logging.LogRecord:
        record = previous(*args, **kwargs)
        record.run_id = _RUN_ID.get()
        record.stage = _STAGE.get()
        if _is_ours(record.name):
            try:
                message = record.getMessage()
            except Exception:  # noqa: BLE001 - a bad format string: leave it to logging's error path
                return record
            record.msg, record.args = redact(message), ()
            if record.exc_info and record.exc_info[0] is not None:
                record.exc_text = redact(logging.Formatter().formatException(record.exc_info))
        return record

    logging.setLogRecordFactory(factory)
    _INSTALLED["factory"] = factory


def _bind_structlog(**values: str) -> None:
    """Also bind the values for structlog (Airflow 3's task logs merge its context vars)."""
    if "structlog" in sys.modules:
        sys.modules["structlog"].contextvars.bind_contextvars(**values)


@contextmanager
def bound(run_id: str | None = None, stage: str | None = None) -> Iterator[None]:
    """Within the block, records carry this run id and/or stage."""
    install()
    tokens = []
    if run_id is not None:
        tokens.append((_RUN_ID, _RUN_ID.set(run_id)))
    if stage is not None:
        tokens.append((_STAGE, _STAGE.set(stage)))
    try:
        yield
    finally:
        for var, token in reversed(tokens):
            var.reset(token)


def bind_task(run_id: str, stage: str) -> None:
    """For the rest of an Airflow task: its records carry the run id and the task id."""
    install()
    _RUN_ID.set(run_id)
    _STAGE.set(stage)
    _bind_structlog(run_id=run_id, stage=stage)


def log_format() -> str:
    """``LEADSCORE_LOG_FORMAT``: ``text`` (default) or ``json``."""
    value = (os.environ.get("LEADSCORE_LOG_FORMAT") or "text").strip().lower()
    if value not in FORMATS:
        raise ValueError(f"LEADSCORE_LOG_FORMAT={value!r} is not a log format; use {' or '.join(FORMATS)}")
    return value


class JsonFormatter(logging.Formatter):
    """One JSON object per record: timestamp (UTC, ISO 8601), level, logger, run_id, stage,
    message (redacted) and, on errors, the exception."""

    def format(self, record: logging.LogRecord) -> str:
        entry = {
            "timestamp": datetime.fromtimestamp(record.created, timezone.utc).isoformat(
                timespec="milliseconds"
            ),
            "level": record.levelname,
            "logger": record.name,
            "run_id": getattr(record, "run_id", NO_RUN),
            "stage": getattr(record, "stage", NO_RUN),
            "message": redact(record.getMessage()),
        }
        if record.exc_info or record.exc_text:
            entry["exception"] = redact(record.exc_text or self.formatException(record.exc_info))
        return json.dumps(entry, default=str)


class TextFormatter(logging.Formatter):
    """Human text with the run id and stage; redacted like the JSON."""

    def __init__(self) -> None:
        super().__init__(TEXT_FORMAT)

    def format(self, record: logging.LogRecord) -> str:
        record.run_id = getattr(record, "run_id", NO_RUN)
        record.stage = getattr(record, "stage", NO_RUN)
        return redact(super().format(record))


class _CurrentStderrHandler(logging.StreamHandler):
    """Writes to whatever ``sys.stderr`` is now (test runners swap it between tests)."""

    @property
    def stream(self) -> TextIO:  # type: ignore[override]
        return sys.stderr

    @stream.setter
    def stream(self, value: TextIO) -> None:
        pass


def configure(
    level: int = logging.INFO, stream: TextIO | None = None, fmt: str | None = None
) -> logging.Handler:
    """Log to ``stream`` (stderr) in ``fmt`` (default: ``LEADSCORE_LOG_FORMAT``), replacing
    the handler a previous call installed; returns the handler."""
    install()
    fmt = fmt or log_format()
    if fmt not in FORMATS:
        raise ValueError(f"log format {fmt!r}; use {' or '.join(FORMATS)}")
    root = logging.getLogger()
    for handler in [h for h in root.handlers if getattr(h, "leadscore", False)]:
        root.removeHandler(handler)
    handler = logging.StreamHandler(stream) if stream is not None else _CurrentStderrHandler()
    handler.leadscore = True  # type: ignore[attr-defined]
    handler.setFormatter(JsonFormatter() if fmt == "json" else TextFormatter())
    root.addHandler(handler)
    root.setLevel(level)
    for noisy in NOISY_LOGGERS:
        logging.getLogger(noisy).setLevel(logging.WARNING)
    if level > logging.DEBUG:  # a library may reset its level when imported later (GX does)
        handler.addFilter(
            lambda record: record.levelno >= logging.WARNING or not record.name.startswith(NOISY_LOGGERS)
        )
        # pyspark (imported by GX) warns about the pandas version on every import; unused here
        warnings.filterwarnings("ignore", message="PySpark does not yet fully support pandas")
    return handler
