"""Owner alerts: the firings of ``seeds/alert_rules.csv`` (score jump, tier crossing, named
signal, engaged account) raised once into ``ops.alerts`` and delivered to the person they are
for, through the SLA alerts' machinery (``alerts``: one ``ops.alert_deliveries`` row per
alert and channel, retried, given up after ``MAX_ATTEMPTS``, errors redacted).

``marts.owner_alerts_due`` (dbt) says, as of the run, which alerts are due, to whom and from
when (``deliver_at``: the next opening of the recipient's business hours when the run is
outside them). Each ``alert_id`` is inserted once (``kind`` = the rule kind, ``owner_id`` =
the recipient, ``deliver_after`` = ``deliver_at``), so re-running an hour raises nothing. Every
pass (the hourly ``alert_sla`` task and the 5-minute monitor) offers the alerts whose
``deliver_after`` has come to the log and each configured channel, addressed to the
recipient (``alert_channels.to_recipient``): Slack mentions their Slack user id
(``seeds/alert_recipients.csv``), e-mail goes to their CRM User's Email. A recipient with
``is_digest`` gets one message per channel and pass listing all their alerts due (held ones
too, once their hours start); anyone else one message per alert.
"""

from __future__ import annotations

import logging
from datetime import datetime

import duckdb

from lead_scoring.alert_channels import Alert, Notifier, Recipient, log_notifier, to_recipient
from lead_scoring.alerts import (
    MAX_ATTEMPTS,
    AlertResult,
    Offering,
    all_channels,
    channel_secrets,
    ensure_alerts_table,
    insert_new,
    open_alerts,
    settle,
)
from lead_scoring.warehouse import table_exists

log = logging.getLogger(__name__)


def due_alerts(con: duckdb.DuckDBPyConnection) -> list[Alert]:
    """The rows of ``marts.owner_alerts_due`` that have no row in ``ops.alerts`` yet."""
    if not table_exists(con, "marts", "owner_alerts_due"):
        return []
    rows = con.execute(
        "select due.alert_id, due.rule_kind, due.crm_id, due.message, due.tier, due.recipient_id, "
        "due.deliver_at from marts.owner_alerts_due due "
        "where not exists (select 1 from ops.alerts a where a.alert_id = due.alert_id) "
        "order by due.deliver_at, due.alert_id"
    ).fetchall()
    return [
        Alert(
            alert_id=alert_id,
            kind=kind,
            crm_id=crm_id,
            message=message,
            tier=tier,
            owner_id=recipient_id,
            deliver_after=deliver_at,
        )
        for alert_id, kind, crm_id, message, tier, recipient_id, deliver_at in rows
    ]


def unknown_signal_rules(con: duckdb.DuckDBPyConnection) -> list[str]:
    """Enabled signal rules naming a signal_id that seeds/intent_signals.csv lacks (they never
    fire): one line each, for the pass's errors and the log."""
    if not (table_exists(con, "seeds", "alert_rules") and table_exists(con, "seeds", "intent_signals")):
        return []
    rows = con.execute(
        "select rule_id, signal_id from seeds.alert_rules where rule_kind = 'signal' and is_enabled "
        "and (signal_id is null or signal_id not in (select signal_id from seeds.intent_signals)) "
        "order by rule_id"
    ).fetchall()
    return [
        f"alert rule {rule_id} names signal {signal_id!r}, which seeds/intent_signals.csv does not have: "
        "it never fires; fix alert_rules.csv"
        for rule_id, signal_id in rows
    ]


def recipients(con: duckdb.DuckDBPyConnection, user_ids: set[str]) -> dict[str, Recipient]:
    """Name, e-mail (CRM User) and Slack id and digest choice (seeds.alert_recipients) of each
    recipient; one without a User row gets neither e-mail nor name."""
    if not user_ids:
        return {}
    found = {user_id: Recipient(user_id) for user_id in user_ids}
    users = table_exists(con, "staging", "stg_salesforce__users")
    settings = table_exists(con, "seeds", "alert_recipients")
    if not (users or settings):
        return found
    ids = "select unnest(?::varchar[]) as user_id"
    name_email = "users.user_name, users.email" if users else "null, null"
    slack_digest = "settings.slack_user_id, settings.is_digest" if settings else "null, false"
    join_users = "left join staging.stg_salesforce__users users using (user_id)" if users else ""
    join_settings = (
        "left join seeds.alert_recipients settings on settings.owner_id = ids.user_id" if settings else ""
    )
    rows = con.execute(
        f"select ids.user_id, {name_email}, {slack_digest} from ({ids}) ids {join_users} {join_settings}",
        [sorted(user_ids)],
    ).fetchall()
    for user_id, name, email, slack_user_id, is_digest in rows:
        found[user_id] = Recipient(user_id, name or "", email, slack_user_id, bool(is_digest))
    return found


def raise_owner_alerts(
    con: duckdb.DuckDBPyConnection,
    run_id: str,
    as_of: datetime,
    notifiers: dict[str, Notifier] | None = None,
    max_attempts: int = MAX_ATTEMPTS,
) -> AlertResult:
    """Record the new owner alerts and offer those due by ``as_of`` to each channel, per
    recipient: one call per alert, or one per recipient with ``is_digest``. ``held``: alerts
    waiting for their recipient's business hours."""
    ensure_alerts_table(con)
    channels = all_channels(notifiers)
    new = due_alerts(con)
    if new:
        insert_new(con, new, run_id, as_of)
    pending, deliveries = open_alerts(con, sla=False, due_by=as_of)
    result = AlertResult(raised=len(new), channels=list(channels))
    for problem in unknown_signal_rules(con):
        log.error("%s", problem)
        result.errors.append(problem)
    offering = Offering(con, deliveries, run_id, as_of, max_attempts, channel_secrets(channels), result)
    by_recipient: dict[str, list[Alert]] = {}
    for alert in pending:
        by_recipient.setdefault(alert.owner_id or "", []).append(alert)
    people = recipients(con, set(by_recipient) - {""})
    # the log writes one line per alert whatever it is given, to nobody in particular: it takes
    # every recipient's alerts in one call, and their delivery rows in one statement. Measured
    # on the first hour at 100,000 leads (15,258 breaches, 4,162 owner alerts), alert_sla took
    # 37.6 s with a statement per alert, 8.9 s with one per recipient, 1.4 s with this.
    for_the_log: dict[str, list[Alert]] = {}
    for recipient_id, alerts in by_recipient.items():
        recipient = people.get(recipient_id, Recipient(recipient_id))
        for name, channel in channels.items():
            todo = offering.todo(name, alerts)
            addressed = to_recipient(channel, recipient)
            if isinstance(addressed, str):
                offering.skip(name, todo, addressed)
            elif addressed is log_notifier:
                for_the_log.setdefault(name, []).extend(todo)
            else:
                for batch in [todo] if recipient.is_digest else [[alert] for alert in todo]:
                    offering.offer(name, addressed, batch)
    for name, todo in for_the_log.items():
        offering.offer(name, log_notifier, todo)
    settle(con, pending, deliveries, list(channels), as_of, result)
    result.held = con.execute(
        "select count(*) from ops.alerts where kind <> 'sla_breach' and notified_at is null "
        "and deliver_after > ?",
        [as_of],
    ).fetchall()[0][0]
    return result
