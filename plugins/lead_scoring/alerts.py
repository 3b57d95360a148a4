"""SLA breach alerts: each new breach raised once, to ``ops.alerts`` and the notifier.

A breach is identified by the Lead and the start of its SLA clock (``sla_breach:<crm_id>:
<sla_started_at>``): the same breach is never raised twice, however many runs see it; a Lead
assigned again (a new clock) that breaches again is a new alert. An alert is written to
``ops.alerts`` first and marked ``notified_at`` once every configured channel took it; alerts
whose notification failed are sent again by the next run (at least once to the channels,
exactly once in the table).

Channels: the log, always. Slack when the Airflow connection ``leadscore_slack`` (host or
password = the incoming-webhook URL) or ``LEADSCORE_SLACK_WEBHOOK_URL`` exists. E-mail when
the Airflow connection ``leadscore_smtp`` (host, port, login, password; extra ``from``,
``to``, ``starttls``) or ``LEADSCORE_SMTP_HOST`` (+ ``_PORT``, ``_USER``, ``_PASSWORD``,
``_FROM``, ``_TO``, ``_STARTTLS``) exists. Messages carry CRM Ids and names, never e-mail
addresses of people.
"""

from __future__ import annotations

import json
import logging
import os
import smtplib
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import datetime
from email.message import EmailMessage

import duckdb
import pandas as pd
import requests

from lead_scoring.crm.client import AIRFLOW_TASK_CONTEXT
from lead_scoring.warehouse import registered, table_exists

log = logging.getLogger(__name__)

ALERTS_COLUMNS = {
    "tier": "integer",
    "owner_id": "varchar",
    "escalation_target": "varchar",
    "sla_due_at": "timestamp",
    "notified_at": "timestamp",
    "channels": "varchar",
}


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


@dataclass
class AlertResult:
    raised: int = 0
    notified: int = 0
    pending: int = 0
    channels: list[str] = field(default_factory=list)
    errors: list[str] = field(default_factory=list)

    def as_dict(self) -> dict:
        return self.__dict__.copy()


def ensure_alerts_table(con: duckdb.DuckDBPyConnection) -> None:
    """``ops.alerts`` with the SLA columns (warehouse.ensure_schema creates the base table)."""
    con.execute("create schema if not exists ops")
    con.execute(
        "create table if not exists ops.alerts (alert_id varchar primary key, kind varchar, "
        "crm_id varchar, message varchar, run_id varchar, raised_at timestamp)"
    )
    for column, kind in ALERTS_COLUMNS.items():
        con.execute(f"alter table ops.alerts add column if not exists {column} {kind}")


def _due_before_routing(con: duckdb.DuckDBPyConnection) -> str:
    """SQL for "this breach fell due before routing saw the Lead": false on a marts.lead_sla
    built before the column existed (the next run rebuilds it)."""
    has_column = con.execute(
        "select 1 from information_schema.columns where table_schema = 'marts' "
        "and table_name = 'lead_sla' and column_name = 'is_due_before_routing'"
    ).fetchall()
    return "coalesce(sla.is_due_before_routing, false)" if has_column else "false"


def breach_alerts(con: duckdb.DuckDBPyConnection) -> list[Alert]:
    """Breaches in ``marts.lead_sla`` that have no row in ``ops.alerts`` yet. A breach that fell
    due before routing first saw the Lead (``is_due_before_routing``: a kept working owner
    whose clock starts at the Lead's creation) is reported, never alerted: nobody could act."""
    if not table_exists(con, "marts", "lead_sla"):
        return []
    names = "select rep_id as user_id, rep_name as name from intermediate.int_reps_availability_evaluated"
    if table_exists(con, "staging", "stg_salesforce__users"):
        names = "select user_id, user_name as name from staging.stg_salesforce__users"
    rows = con.execute(
        f"""
        with names as ({names}),
        queues as (select queue_id as user_id, queue_name as name from seeds.routing_queues)
        select
            sla.crm_id, sla.tier, sla.owner_id, sla.escalation_target, sla.sla_due_at,
            sla.sla_started_at, sla.first_response_at,
            coalesce(owner_names.name, queue_names.name, sla.owner_id) as owner_name,
            coalesce(escalation_names.name, sla.escalation_target) as escalation_name
        from marts.lead_sla sla
        left join names owner_names on sla.owner_id = owner_names.user_id
        left join queues queue_names on sla.owner_id = queue_names.user_id
        left join names escalation_names on sla.escalation_target = escalation_names.user_id
        where sla.sla_status = 'breached'
            and not {_due_before_routing(con)}
            and not exists (
                select 1 from ops.alerts a
                where a.alert_id = 'sla_breach:' || sla.crm_id || ':'
                    || strftime(sla.sla_started_at, '%Y-%m-%dT%H:%M:%S')
            )
        order by sla.sla_due_at, sla.crm_id
        """
    ).fetchall()
    alerts = []
    for crm_id, tier, owner_id, target, due, started, responded, owner_name, target_name in rows:
        response = (
            f"first response at {responded:%Y-%m-%d %H:%M} UTC (late)" if responded else "no response yet"
        )
        escalate = f"; escalate to {target_name} ({target})" if target else ""
        alerts.append(
            Alert(
                alert_id=f"sla_breach:{crm_id}:{started:%Y-%m-%dT%H:%M:%S}",
                kind="sla_breach",
                crm_id=crm_id,
                message=(
                    f"SLA breached: Lead {crm_id} (Tier {tier}) owned by {owner_name} ({owner_id}), "
                    f"due {due:%Y-%m-%d %H:%M} UTC, {response}{escalate}"
                ),
                tier=tier,
                owner_id=owner_id,
                escalation_target=target,
                sla_due_at=due,
            )
        )
    return alerts


# ------------------------------------------------------------------------------ channels

Notifier = Callable[[list[Alert]], None]


def _airflow_connection(conn_id: str):
    """The Airflow connection, or None outside Airflow or when it is not defined."""

    if f"AIRFLOW_CONN_{conn_id.upper()}" not in os.environ and not AIRFLOW_TASK_CONTEXT["active"]:
        return None
    try:
        from airflow.sdk import BaseHook  # noqa: PLC0415

        return BaseHook.get_connection(conn_id)
    except Exception:  # noqa: BLE001 - not configured: the channel is off
        return None


def _text(alerts: list[Alert]) -> str:
    lines = [a.message for a in alerts[:50]]
    if len(alerts) > 50:
        lines.append(f"... and {len(alerts) - 50} more (ops.alerts)")
    return f"leadscore: {len(alerts)} new SLA breach(es)\n" + "\n".join(lines)


def slack_notifier(webhook_url: str, timeout: float = 10.0) -> Notifier:
    def send(alerts: list[Alert]) -> None:
        response = requests.post(webhook_url, json={"text": _text(alerts)}, timeout=timeout)
        if response.status_code >= 300:
            raise RuntimeError(f"Slack webhook answered HTTP {response.status_code}: {response.text[:200]}")

    return send


def smtp_notifier(
    host: str,
    port: int,
    sender: str,
    recipients: list[str],
    user: str = "",
    password: str = "",
    starttls: bool = False,
) -> Notifier:
    def send(alerts: list[Alert]) -> None:
        message = EmailMessage()
        message["Subject"] = f"leadscore: {len(alerts)} new SLA breach(es)"
        message["From"] = sender
        message["To"] = ", ".join(recipients)
        message.set_content(_text(alerts))
        with smtplib.SMTP(host, port, timeout=30) as server:
            if starttls:
                server.starttls()
            if user:
                server.login(user, password)
            server.send_message(message)

    return send


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


# ------------------------------------------------------------------------------- raising


def raise_new_breaches(
    con: duckdb.DuckDBPyConnection,
    run_id: str,
    raised_at: datetime,
    notifiers: dict[str, Notifier] | None = None,
) -> AlertResult:
    """Record the new breaches in ``ops.alerts`` and send every not-yet-notified alert to the
    channels. Returns counts; a failing channel leaves its alerts pending for the next run."""
    ensure_alerts_table(con)
    notifiers = configured_notifiers() if notifiers is None else notifiers
    new = breach_alerts(con)
    if new:  # one statement for all of them (a first run at scale L raises tens of thousands)
        columns = [
            "alert_id",
            "kind",
            "crm_id",
            "message",
            "tier",
            "owner_id",
            "escalation_target",
            "sla_due_at",
        ]
        frame = pd.DataFrame([[getattr(a, c) for c in columns] for a in new], columns=columns)
        with registered(con, "_new_alerts", frame):
            names = ", ".join(columns)
            con.execute(
                f"insert into ops.alerts ({names}, run_id, raised_at) select {names}, ?, ? from _new_alerts "
                "on conflict do nothing",
                [run_id, raised_at],
            )
    pending = [
        Alert(alert_id=r[0], kind=r[1], crm_id=r[2], message=r[3])
        for r in con.execute(
            "select alert_id, kind, crm_id, message from ops.alerts "
            "where kind = 'sla_breach' and notified_at is null order by raised_at, alert_id"
        ).fetchall()
    ]
    result = AlertResult(raised=len(new), channels=["log", *notifiers])
    if not pending:
        return result
    log_notifier(pending)
    failed = False
    for name, notify in notifiers.items():
        try:
            notify(pending)
        except Exception as error:  # noqa: BLE001 - one broken channel must not hide the others
            failed = True
            result.errors.append(f"{name}: {error}")
            log.error("alert channel %s failed (alerts stay pending, next run retries): %s", name, error)
    if failed:
        result.pending = len(pending)
        return result
    with registered(con, "_notified", pd.DataFrame({"alert_id": [a.alert_id for a in pending]})):
        con.execute(
            "update ops.alerts set notified_at = ?, channels = ? "
            "where alert_id in (select alert_id from _notified)",
            [raised_at, json.dumps(result.channels)],
        )
    result.notified = len(pending)
    return result


def open_breaches(con: duckdb.DuckDBPyConnection, limit: int = 20) -> dict:
    """Breached SLAs of the current routing (for ``leadscore status`` and the run summary):
    count, without a response yet, due before routing first saw the Lead (reported, not
    alerted), per tier, oldest unanswered."""
    if not table_exists(con, "marts", "lead_sla"):
        return {"breached": 0, "breached_unanswered": 0, "breached_before_routing": 0, "by_tier": {}}
    total, unanswered, before_routing = con.execute(
        "select count(*), count(*) filter (where first_response_at is null), "
        f"count(*) filter (where {_due_before_routing(con)}) "
        "from marts.lead_sla sla where sla_status = 'breached'"
    ).fetchall()[0]
    by_tier = dict(
        con.execute(
            "select tier, count(*) from marts.lead_sla where sla_status = 'breached' "
            "group by tier order by tier"
        ).fetchall()
    )
    oldest = [
        {"crm_id": r[0], "tier": r[1], "owner_id": r[2], "sla_due_at": str(r[3]), "escalation_target": r[4]}
        for r in con.execute(
            "select crm_id, tier, owner_id, sla_due_at, escalation_target from marts.lead_sla "
            "where sla_status = 'breached' and first_response_at is null order by sla_due_at, crm_id limit ?",
            [limit],
        ).fetchall()
    ]
    return {
        "breached": total,
        "breached_unanswered": unanswered,
        "breached_before_routing": before_routing,
        "by_tier": by_tier,
        "oldest_unanswered": oldest,
    }


def run_alert_counts(con: duckdb.DuckDBPyConnection, run_id: str) -> dict:
    """For the run summary: SLA alerts this run raised and those still waiting for a channel,
    next to the breaches as ``leadscore status`` shows them (``open_breaches``)."""
    ensure_alerts_table(con)
    raised, pending = con.execute(
        "select count(*) filter (where run_id = ?), count(*) filter (where notified_at is null) "
        "from ops.alerts where kind = 'sla_breach'",
        [run_id],
    ).fetchall()[0]
    breaches = open_breaches(con, limit=0)
    return {
        "sla_alerts_raised": raised,
        "sla_alerts_pending": pending,
        "sla_breaches": breaches["breached"],
        "sla_breaches_unanswered": breaches["breached_unanswered"],
        "sla_breaches_before_routing": breaches["breached_before_routing"],
    }
