"""SLA breach alerts: each new breach raised once, to ``ops.alerts``, and delivered once to
each channel (``ops.alert_deliveries``; the channels are in ``alert_channels``).

A breach is identified by the Lead and the start of its SLA clock (``sla_breach:<crm_id>:
<sla_started_at>``): the same breach is never raised twice, however many runs see it; a Lead
assigned again (a new clock) that breaches again is a new alert. An alert is written to
``ops.alerts`` first, then offered to the log and every configured channel;
``ops.alert_deliveries`` keeps one row per (alert, channel), written as soon as the channel
answered: ``sent``, ``retrying`` (the channel failed; the next run offers it to that channel
again) or ``gave_up`` (it failed ``MAX_ATTEMPTS`` times; ``leadscore status`` and the run
summary show it). A failing channel never makes the others send again. ``ops.alerts.notified_at``
is set when every configured channel has sent or given up (``channels``: those that sent); an
alert with ``notified_at`` is never offered again, so alerts notified before
``ops.alert_deliveries`` existed stay sent. Messages carry CRM Ids and names, never e-mail
addresses of people; channel errors are redacted (``alert_channels.scrub``) before they are
logged, stored or returned.
"""

from __future__ import annotations

import json
import logging
from dataclasses import asdict, dataclass, field
from datetime import datetime

import duckdb
import pandas as pd

from lead_scoring.alert_channels import Alert, Notifier, configured_notifiers, log_notifier, scrub
from lead_scoring.warehouse import registered, table_exists

log = logging.getLogger(__name__)

ALERTS_COLUMNS = {
    "tier": "integer",
    "owner_id": "varchar",
    "escalation_target": "varchar",
    "sla_due_at": "timestamp",
    "notified_at": "timestamp",
    "channels": "varchar",
    # owner alerts outside the recipient's business hours wait until then (owner_alerts)
    "deliver_after": "timestamp",
}
# A channel that failed this many times for an alert gives up on it (status ``gave_up``): about
# an hour of the 5-minute monitor's passes, after which an SLA alert has lost its point.
MAX_ATTEMPTS = 12
SENT, RETRYING, GAVE_UP, SKIPPED = "sent", "retrying", "gave_up", "skipped"
# skipped: the channel cannot reach the alert's recipient (an owner without a Slack user id)
DONE = (SENT, GAVE_UP, SKIPPED)


@dataclass
class AlertResult:
    """What one pass did: alerts raised, alerts every channel has now settled (``notified``),
    alerts still waiting for a channel (``pending``), owner alerts waiting for their
    recipient's business hours (``held``), per channel the alerts it took (``sent``), failed
    on (``failed``, retried next run), gave up on (``gave_up``) and could not address
    (``skipped``: no Slack user id or e-mail for the recipient), and the channels' errors
    (redacted)."""

    raised: int = 0
    notified: int = 0
    pending: int = 0
    held: int = 0
    channels: list[str] = field(default_factory=list)
    sent: dict[str, int] = field(default_factory=dict)
    failed: dict[str, int] = field(default_factory=dict)
    gave_up: dict[str, int] = field(default_factory=dict)
    skipped: dict[str, int] = field(default_factory=dict)
    errors: list[str] = field(default_factory=list)

    def as_dict(self) -> dict:
        return asdict(self)


def ensure_alerts_table(con: duckdb.DuckDBPyConnection) -> None:
    """``ops.alerts`` with the SLA and owner-alert columns (warehouse.ensure_schema creates the
    base table) and ``ops.alert_deliveries``, one row per (alert, channel); both idempotent, so
    a warehouse made by an earlier version gets them on its next run (its alerts, all SLA
    breaches then, keep or get ``kind`` = 'sla_breach')."""
    con.execute("create schema if not exists ops")
    con.execute(
        "create table if not exists ops.alerts (alert_id varchar primary key, kind varchar, "
        "crm_id varchar, message varchar, run_id varchar, raised_at timestamp)"
    )
    for column, kind in ALERTS_COLUMNS.items():
        con.execute(f"alter table ops.alerts add column if not exists {column} {kind}")
    con.execute("update ops.alerts set kind = 'sla_breach' where kind is null")
    con.execute(
        "create table if not exists ops.alert_deliveries (alert_id varchar, channel varchar, "
        "status varchar, attempts integer, first_attempt_at timestamp, last_attempt_at timestamp, "
        "sent_at timestamp, last_error varchar, run_id varchar, primary key (alert_id, channel))"
    )


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


def insert_new(con: duckdb.DuckDBPyConnection, new: list[Alert], run_id: str, raised_at: datetime) -> None:
    """One statement for all of them (a first run at scale L raises tens of thousands); an
    alert_id already in ops.alerts is left as it is."""
    columns = [
        "alert_id", "kind", "crm_id", "message", "tier", "owner_id", "escalation_target", "sla_due_at",
        "deliver_after",
    ]  # fmt: skip
    frame = pd.DataFrame([[getattr(a, c) for c in columns] for a in new], columns=columns)
    for column in ("sla_due_at", "deliver_after"):
        frame[column] = pd.to_datetime(frame[column])
    with registered(con, "_new_alerts", frame):
        names = ", ".join(columns)
        con.execute(
            f"insert into ops.alerts ({names}, run_id, raised_at) select {names}, ?, ? from _new_alerts "
            "on conflict do nothing",
            [run_id, raised_at],
        )


Deliveries = dict[str, dict[str, tuple[str, int, datetime | None]]]
NO_DELIVERY = ("", 0, None)


def open_alerts(
    con: duckdb.DuckDBPyConnection, sla: bool = True, due_by: datetime | None = None
) -> tuple[list[Alert], Deliveries]:
    """Alerts not yet settled on every channel (``notified_at`` null), oldest first, and their
    delivery rows: alert_id -> channel -> (status, attempts, first_attempt_at). ``sla``: the
    SLA breaches, else the owner alerts (every other kind) whose ``deliver_after`` is not
    later than ``due_by``."""
    which = "a.kind = 'sla_breach'"
    if not sla:
        which = "a.kind <> 'sla_breach' and coalesce(a.deliver_after <= ?, true)"
    rows = con.execute(
        "select a.alert_id, a.kind, a.crm_id, a.message, a.owner_id, d.channel, d.status, d.attempts, "
        "d.first_attempt_at from ops.alerts a left join ops.alert_deliveries d on d.alert_id = a.alert_id "
        f"where {which} and a.notified_at is null order by a.raised_at, a.alert_id",
        [] if sla else [due_by],
    ).fetchall()
    alerts: dict[str, Alert] = {}
    deliveries: Deliveries = {}
    for alert_id, kind, crm_id, message, owner_id, channel, status, attempts, first_attempt_at in rows:
        alerts.setdefault(
            alert_id, Alert(alert_id=alert_id, kind=kind, crm_id=crm_id, message=message, owner_id=owner_id)
        )
        by_channel = deliveries.setdefault(alert_id, {})
        if channel is not None:
            by_channel[channel] = (status, attempts or 0, first_attempt_at)
    return list(alerts.values()), deliveries


def _record(
    con: duckdb.DuckDBPyConnection,
    channel: str,
    rows: list[tuple[str, str, int, datetime | None]],
    error: str | None,
    run_id: str,
    attempted_at: datetime,
) -> None:
    """Upsert the (alert, channel) rows of one attempt: (alert_id, status, attempts, first
    attempt). Written right after the channel answered, so a crash later in the pass never
    makes it send again."""
    frame = pd.DataFrame(rows, columns=["alert_id", "status", "attempts", "first_attempt_at"])
    frame["first_attempt_at"] = pd.to_datetime(frame["first_attempt_at"]).fillna(attempted_at)
    with registered(con, "_deliveries", frame):
        con.execute(
            "insert or replace into ops.alert_deliveries (alert_id, channel, status, attempts, "
            "first_attempt_at, last_attempt_at, sent_at, last_error, run_id) "
            "select alert_id, ?, status, attempts, first_attempt_at, ?, "
            "case when status = 'sent' then ?::timestamp end, ?, ? from _deliveries",
            [channel, attempted_at, attempted_at, error, run_id],
        )


def raise_new_breaches(
    con: duckdb.DuckDBPyConnection,
    run_id: str,
    raised_at: datetime,
    notifiers: dict[str, Notifier] | None = None,
    max_attempts: int = MAX_ATTEMPTS,
) -> AlertResult:
    """Record the new breaches in ``ops.alerts`` and offer every unsettled alert to each channel
    that has not sent it or given up on it. A channel's failure is recorded for that channel
    only (``retrying``, ``gave_up`` after ``max_attempts``); the others are never asked again.
    Returns counts and the channels' errors, with every secret redacted."""
    ensure_alerts_table(con)
    channels = all_channels(notifiers)
    new = breach_alerts(con)
    if new:
        insert_new(con, new, run_id, raised_at)
    pending, deliveries = open_alerts(con)
    result = AlertResult(raised=len(new), channels=list(channels))
    offering = Offering(con, deliveries, run_id, raised_at, max_attempts, channel_secrets(channels), result)
    for name, notify in channels.items():
        offering.offer(name, notify, offering.todo(name, pending))
    settle(con, pending, deliveries, list(channels), raised_at, result)
    return result


def all_channels(notifiers: dict[str, Notifier] | None) -> dict[str, Notifier]:
    """The log, then the given channels (default: those configured)."""
    return {"log": log_notifier, **(configured_notifiers() if notifiers is None else notifiers)}


def channel_secrets(channels: dict[str, Notifier]) -> list[str]:
    return [secret for notify in channels.values() for secret in getattr(notify, "secrets", ())]


@dataclass
class Offering:
    """One pass offering alerts to channels: each (alert, channel) outcome is recorded in
    ``ops.alert_deliveries`` as soon as the channel answered, and counted in ``result``."""

    con: duckdb.DuckDBPyConnection
    deliveries: Deliveries
    run_id: str
    at: datetime
    max_attempts: int
    secrets: list[str]
    result: AlertResult

    def todo(self, name: str, alerts: list[Alert]) -> list[Alert]:
        """The alerts ``name`` has neither sent, given up on nor skipped."""
        return [a for a in alerts if self.deliveries[a.alert_id].get(name, NO_DELIVERY)[0] not in DONE]

    def skip(self, name: str, todo: list[Alert], reason: str) -> None:
        """The channel cannot reach these alerts' recipient: recorded once, never retried."""
        if not todo:
            return
        rows = [(a.alert_id, SKIPPED, 0, None) for a in todo]
        for alert in todo:
            self.deliveries[alert.alert_id][name] = (SKIPPED, 0, None)
        _record(self.con, name, rows, reason, self.run_id, self.at)
        self.result.skipped[name] = self.result.skipped.get(name, 0) + len(todo)

    def offer(self, name: str, notify: Notifier, todo: list[Alert]) -> None:
        """Offer ``todo`` to one channel in one call; a failure is that channel's alone
        (``retrying``, ``gave_up`` after ``max_attempts``)."""
        if not todo:
            return
        error = None
        try:
            notify(todo)
        except Exception as failure:  # noqa: BLE001 - one broken channel must not hide the others
            error = scrub(str(failure) or type(failure).__name__, self.secrets)
        rows = []
        for alert in todo:
            _, attempts, first = self.deliveries[alert.alert_id].get(name, NO_DELIVERY)
            status = SENT if error is None else GAVE_UP if attempts + 1 >= self.max_attempts else RETRYING
            rows.append((alert.alert_id, status, attempts + 1, first))
            self.deliveries[alert.alert_id][name] = (status, attempts + 1, first)
        _record(self.con, name, rows, error, self.run_id, self.at)
        result = self.result
        if error is None:
            result.sent[name] = result.sent.get(name, 0) + len(todo)
            return
        result.errors.append(f"{name}: {error}")
        given_up = sum(1 for row in rows if row[1] == GAVE_UP)
        if given_up:
            result.gave_up[name] = result.gave_up.get(name, 0) + given_up
            log.error(
                "alert channel %s failed %d time(s) for %d alert(s) and gives up on them "
                "(ops.alert_deliveries status 'gave_up'): %s",
                name,
                self.max_attempts,
                given_up,
                error,
            )
        if len(todo) > given_up:
            result.failed[name] = result.failed.get(name, 0) + len(todo) - given_up
            log.error(
                "alert channel %s failed for %d alert(s); the next run retries them: %s",
                name,
                len(todo) - given_up,
                error,
            )


def settle(
    con: duckdb.DuckDBPyConnection,
    pending: list[Alert],
    deliveries: Deliveries,
    channels: list[str],
    settled_at: datetime,
    result: AlertResult,
) -> None:
    """Set ``notified_at`` (and ``channels``: those that sent it) on the alerts every configured
    channel has sent or given up on: they are never offered again."""
    settled = []
    for alert in pending:
        statuses = {channel: status for channel, (status, *_) in deliveries[alert.alert_id].items()}
        if all(statuses.get(channel) in DONE for channel in channels):
            sent = sorted(channel for channel, status in statuses.items() if status == SENT)
            settled.append((alert.alert_id, json.dumps(sent)))
    if settled:
        frame = pd.DataFrame(settled, columns=["alert_id", "channels"])
        with registered(con, "_settled", frame):
            con.execute(
                "update ops.alerts set notified_at = ?, channels = s.channels from _settled s "
                "where ops.alerts.alert_id = s.alert_id",
                [settled_at],
            )
    result.notified = len(settled)
    result.pending = len(pending) - len(settled)


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
    owner alerts this run raised and those held for their recipient's business hours,
    the (alert, channel) deliveries this run failed (retried next run) or gave up on, next to
    the breaches as ``leadscore status`` shows them (``open_breaches``)."""
    ensure_alerts_table(con)
    raised, pending = con.execute(
        "select count(*) filter (where run_id = ?), count(*) filter (where notified_at is null) "
        "from ops.alerts where kind = 'sla_breach'",
        [run_id],
    ).fetchall()[0]
    failed, given_up = con.execute(
        "select count(*) filter (where status = 'retrying'), count(*) filter (where status = 'gave_up') "
        "from ops.alert_deliveries where run_id = ?",
        [run_id],
    ).fetchall()[0]
    owner_raised, owner_held = con.execute(
        "select count(*) filter (where run_id = ?), "
        "count(*) filter (where notified_at is null and deliver_after > raised_at) "
        "from ops.alerts where kind <> 'sla_breach'",
        [run_id],
    ).fetchall()[0]
    breaches = open_breaches(con, limit=0)
    return {
        # owner alerts (owner_alerts): raised this run, waiting for their recipient's hours
        "owner_alerts_raised": owner_raised,
        "owner_alerts_held": owner_held,
        "sla_alerts_raised": raised,
        "sla_alerts_pending": pending,
        "sla_alert_deliveries_failed": failed,
        "sla_alert_deliveries_given_up": given_up,
        "sla_breaches": breaches["breached"],
        "sla_breaches_unanswered": breaches["breached_unanswered"],
        "sla_breaches_before_routing": breaches["breached_before_routing"],
    }


def delivery_status(con: duckdb.DuckDBPyConnection) -> dict:
    """For ``leadscore status``: per channel, the (alert, channel) deliveries sent, retrying and
    given up, and the latest error (redacted when it was stored) of a channel that failed."""
    if not table_exists(con, "ops", "alert_deliveries"):
        return {}
    rows = con.execute(
        "select channel, count(*) filter (where status = 'sent'), "
        "count(*) filter (where status = 'retrying'), count(*) filter (where status = 'gave_up'), "
        "arg_max(last_error, last_attempt_at) filter (where status <> 'sent') "
        "from ops.alert_deliveries group by channel order by channel"
    ).fetchall()
    return {
        channel: {"sent": sent, "retrying": retrying, "gave_up": gave_up, "last_error": error}
        for channel, sent, retrying, gave_up, error in rows
    }
