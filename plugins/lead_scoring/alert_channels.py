"""Alert channels: the log, a Slack incoming webhook and SMTP e-mail, configured from Airflow
connections or environment variables, and the redaction of their secrets.

Slack when the Airflow connection ``leadscore_slack`` (host or password = the incoming-webhook
URL) or ``LEADSCORE_SLACK_WEBHOOK_URL`` exists. E-mail when the Airflow connection
``leadscore_smtp`` (host, port, login, password; extra ``from``, ``to``, ``starttls``) or
``LEADSCORE_SMTP_HOST`` (+ ``_PORT``, ``_USER``, ``_PASSWORD``, ``_FROM``, ``_TO``,
``_STARTTLS``) exists. A channel is a callable taking a list of alerts that raises when it
could not take them. The webhook URL (its path is the credential) and the SMTP password never
reach an error or a log line: ``ChannelError`` names the webhook as ``scheme://host/***`` and
has every form of the secrets replaced by ``***``; they are also registered with
``run_logging`` so no ``lead_scoring`` log line carries them.

Owner alerts (``owner_alerts``) go to one person: ``to_recipient`` addresses a channel to them
(Slack: the same webhook, the message mentioning their Slack user id; SMTP: their CRM User's
e-mail instead of the configured recipients), or says the channel cannot reach them.
"""

from __future__ import annotations

import base64
import json
import logging
import os
import smtplib
import ssl
import urllib.error
import urllib.request
from collections.abc import Callable, Iterable
from dataclasses import dataclass, field, replace
from datetime import datetime
from email.message import EmailMessage
from urllib.parse import unquote, urlsplit

import certifi

from lead_scoring import run_logging
from lead_scoring.crm.client import AIRFLOW_TASK_CONTEXT

log = logging.getLogger(__name__)

MIN_SECRET_LENGTH = 4


@dataclass(frozen=True)
class Alert:
    alert_id: str
    kind: str
    crm_id: str
    message: str
    tier: int | None = None
    owner_id: str | None = None
    escalation_target: str | None = None
    sla_due_at: datetime | None = None
    deliver_after: datetime | None = None


@dataclass(frozen=True)
class Recipient:
    """The person an owner alert is for: CRM User Id and name, the User's e-mail, a Slack user
    id (seeds/alert_recipients.csv) and whether they take one digest per run."""

    user_id: str
    name: str = ""
    email: str | None = None
    slack_user_id: str | None = None
    is_digest: bool = False


Notifier = Callable[[list[Alert]], None]


class ChannelError(RuntimeError):
    """A channel could not take the alerts; the message names no secret."""


def redact_url(url: str) -> str:
    """``scheme://host[:port]/***``: where a webhook points, without its path (the credential)
    or any user info."""
    try:
        parts = urlsplit(url)
        port = f":{parts.port}" if parts.port else ""
    except ValueError:
        return "***"
    return f"{parts.scheme}://{parts.hostname}{port}/***" if parts.hostname else "***"


def scrub(text: str, secrets: Iterable[str]) -> str:
    """``text`` with each of ``secrets`` replaced by ``***`` (longest first), then the log
    redaction (registered secrets, ``password=...``, tokens, e-mail addresses)."""
    for secret in sorted({s for s in secrets if s and len(s) >= MIN_SECRET_LENGTH}, key=len, reverse=True):
        text = text.replace(secret, "***")
    return run_logging.redact(text)


def _airflow_connection(conn_id: str):
    """The Airflow connection, or None outside Airflow or when it is not defined."""

    if f"AIRFLOW_CONN_{conn_id.upper()}" not in os.environ and not AIRFLOW_TASK_CONTEXT["active"]:
        return None
    try:
        from airflow.sdk import BaseHook  # noqa: PLC0415

        return BaseHook.get_connection(conn_id)
    except Exception:  # noqa: BLE001 - not configured: the channel is off
        return None


def _title(alerts: list[Alert]) -> str:
    if all(a.kind == "sla_breach" for a in alerts):
        return f"leadscore: {len(alerts)} new SLA breach(es)"
    return f"leadscore: {len(alerts)} alert(s) on your records"


def _text(alerts: list[Alert]) -> str:
    lines = [a.message for a in alerts[:50]]
    if len(alerts) > 50:
        lines.append(f"... and {len(alerts) - 50} more (ops.alerts)")
    return f"{_title(alerts)}\n" + "\n".join(lines)


@dataclass(frozen=True)
class SlackWebhook:
    """Posts the alerts to a Slack incoming webhook. Uses urllib, which logs nothing: urllib3
    (under ``requests``) logs each request's path, the webhook's credential, at DEBUG."""

    webhook_url: str = field(repr=False)
    timeout: float = 10.0
    mention: str = ""  # a Slack user id: the message starts with <@id> (owner alerts)

    @property
    def secrets(self) -> tuple[str, ...]:
        parts = urlsplit(self.webhook_url)
        path = parts.path + (f"?{parts.query}" if parts.query else "")
        token = parts.path.rstrip("/").rsplit("/", 1)[-1]
        return (self.webhook_url, unquote(self.webhook_url), path, unquote(path), token)

    def __call__(self, alerts: list[Alert]) -> None:
        where = redact_url(self.webhook_url)
        if urlsplit(self.webhook_url).scheme not in ("https", "http"):
            raise ChannelError(f"Slack webhook {where} is not an http(s) URL: check leadscore_slack")
        mention = f"<@{self.mention}> " if self.mention else ""
        request = urllib.request.Request(
            self.webhook_url,
            data=json.dumps({"text": mention + _text(alerts)}).encode(),
            headers={"Content-Type": "application/json"},
            method="POST",
        )
        tls = ssl.create_default_context(cafile=certifi.where())
        try:
            with urllib.request.urlopen(request, timeout=self.timeout, context=tls):
                pass
        except urllib.error.HTTPError as error:
            with error:
                body = error.read(200).decode("utf-8", "replace")
            message = f"Slack webhook {where} answered HTTP {error.code}: {body}"
        except urllib.error.URLError as error:
            message = f"Slack webhook {where} unreachable: {error.reason}"
        except (OSError, ValueError) as error:  # timeouts, resets, a malformed URL
            message = f"Slack webhook {where} failed: {type(error).__name__}: {error}"
        else:
            return
        raise ChannelError(scrub(message, self.secrets)) from None


@dataclass(frozen=True)
class SmtpMail:
    """Sends the alerts as one e-mail through an SMTP server."""

    host: str
    port: int
    sender: str
    recipients: tuple[str, ...]
    user: str = ""
    password: str = field(default="", repr=False)
    starttls: bool = False
    timeout: float = 30.0

    @property
    def secrets(self) -> tuple[str, ...]:
        if not self.password:
            return ()
        plain = f"\0{self.user}\0{self.password}".encode()  # AUTH PLAIN; AUTH LOGIN sends the password
        return (
            self.password,
            base64.b64encode(self.password.encode()).decode(),
            base64.b64encode(plain).decode(),
        )

    def __call__(self, alerts: list[Alert]) -> None:
        if not self.recipients:
            raise ChannelError(
                "SMTP alerts have no recipient: set the extra 'to' of the leadscore_smtp connection "
                "or LEADSCORE_SMTP_TO"
            )
        message = EmailMessage()
        message["Subject"] = _title(alerts)
        message["From"] = self.sender
        message["To"] = ", ".join(self.recipients)
        message.set_content(_text(alerts))
        try:
            with smtplib.SMTP(self.host, self.port, timeout=self.timeout) as server:
                if self.starttls:
                    server.starttls()
                if self.user:
                    server.login(self.user, self.password)
                server.send_message(message)
        except (smtplib.SMTPException, OSError, ValueError) as error:
            failure = f"SMTP server {self.host}:{self.port} failed: {type(error).__name__}: {error}"
            raise ChannelError(scrub(failure, self.secrets)) from None


def slack_notifier(webhook_url: str, timeout: float = 10.0) -> SlackWebhook:
    channel = SlackWebhook(webhook_url, timeout)
    run_logging.register_secret(*channel.secrets)
    return channel


def smtp_notifier(
    host: str,
    port: int,
    sender: str,
    recipients: list[str],
    user: str = "",
    password: str = "",
    starttls: bool = False,
) -> SmtpMail:
    channel = SmtpMail(host, port, sender, tuple(recipients), user, password, starttls)
    run_logging.register_secret(*channel.secrets)
    return channel


def configured_notifiers() -> dict[str, Notifier]:
    """Slack and/or SMTP from Airflow connections or environment variables (log is always on)."""
    notifiers: dict[str, Notifier] = {}
    slack = _airflow_connection("leadscore_slack")
    webhook = os.environ.get("LEADSCORE_SLACK_WEBHOOK_URL", "")
    if slack is not None:
        webhook = (slack.password or "") if (slack.password or "").startswith("http") else (slack.host or "")
        if webhook and not webhook.startswith("http"):
            webhook = f"https://{webhook}"
    if webhook:
        notifiers["slack"] = slack_notifier(webhook)
    smtp = _airflow_connection("leadscore_smtp")
    if smtp is not None:
        extra = smtp.extra_dejson or {}
        recipients = extra.get("to") or []
        notifiers["smtp"] = smtp_notifier(
            smtp.host,
            int(smtp.port or 25),
            extra.get("from", smtp.login or "leadscore@localhost"),
            [recipients] if isinstance(recipients, str) else list(recipients),
            smtp.login or "",
            smtp.password or "",
            bool(extra.get("starttls", False)),
        )
    elif os.environ.get("LEADSCORE_SMTP_HOST"):
        notifiers["smtp"] = smtp_notifier(
            os.environ["LEADSCORE_SMTP_HOST"],
            int(os.environ.get("LEADSCORE_SMTP_PORT", "25")),
            os.environ.get("LEADSCORE_SMTP_FROM", "leadscore@localhost"),
            [t.strip() for t in os.environ.get("LEADSCORE_SMTP_TO", "").split(",") if t.strip()],
            os.environ.get("LEADSCORE_SMTP_USER", ""),
            os.environ.get("LEADSCORE_SMTP_PASSWORD", ""),
            os.environ.get("LEADSCORE_SMTP_STARTTLS", "false").lower() in ("1", "true", "yes"),
        )
    return notifiers


def log_notifier(alerts: list[Alert]) -> None:
    for alert in alerts:
        log.warning("%s", alert.message)


def to_recipient(channel: Notifier, recipient: Recipient) -> Notifier | str:
    """``channel`` addressed to one person, or why it cannot reach them (a short text: the
    delivery is recorded as ``skipped``). The log and other callables take it as it is."""
    if isinstance(channel, SlackWebhook):
        if not recipient.slack_user_id:
            return f"no Slack user id for {recipient.user_id} (seeds/alert_recipients.csv)"
        return replace(channel, mention=recipient.slack_user_id)
    if isinstance(channel, SmtpMail):
        if not recipient.email:
            return f"no e-mail on the CRM User {recipient.user_id}"
        return replace(channel, recipients=(recipient.email,))
    return channel
