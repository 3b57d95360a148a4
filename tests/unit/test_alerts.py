"""SLA breach alerts: raised once per breach, delivered once per (alert, channel) with a
failing channel retried alone and given up after a number of attempts, channels from Airflow
connections or environment variables (checked against local webhook and SMTP servers), no
webhook URL or SMTP password in errors, logs, ops rows or the task's result, SOQL of the
monitor built from checked Ids."""

from __future__ import annotations

import base64
import json
import logging
from datetime import datetime, timedelta

import pytest

from lead_scoring import alert_channels, alerts, status, warehouse
from lead_scoring.run_context import make_context
from lead_scoring.sla_monitor import alert_sla, task_queries
from tests.unit.cases.alert_servers import SmtpServer, WebhookServer, closed_port

AS_OF = datetime(2026, 11, 1, 10, 0, 0)
WEBHOOK_PATH = "/services/T0LEADS/B0ALERTS/s3cr3tWebhookToken42"
SMTP_PASSWORD = "hunter2-smtp-Pa55"
CHANNEL_VARIABLES = (
    "LEADSCORE_SLACK_WEBHOOK_URL",
    "LEADSCORE_SMTP_HOST",
    "LEADSCORE_SMTP_PORT",
    "LEADSCORE_SMTP_USER",
    "LEADSCORE_SMTP_PASSWORD",
    "LEADSCORE_SMTP_FROM",
    "LEADSCORE_SMTP_TO",
    "LEADSCORE_SMTP_STARTTLS",
    "AIRFLOW_CONN_LEADSCORE_SLACK",
    "AIRFLOW_CONN_LEADSCORE_SMTP",
)


@pytest.fixture(autouse=True)
def no_channels(monkeypatch):
    for key in CHANNEL_VARIABLES:
        monkeypatch.delenv(key, raising=False)


@pytest.fixture
def con(settings):
    with warehouse.connect(settings.warehouse) as connection:
        build_world(connection)
        yield connection


def build_world(connection) -> None:
    """Three breaches (00Q4 due before routing saw the Lead: not alerted) and one on track."""
    warehouse.ensure_schema(connection)
    connection.execute("create schema marts")
    connection.execute("create schema seeds")
    connection.execute("create schema intermediate")
    connection.execute(
        "create table seeds.routing_queues as "
        "select '00G000000000001AAA' as queue_id, 'Nurture' as queue_name"
    )
    connection.execute(
        "create table intermediate.int_reps_availability_evaluated as select * from (values "
        "('005000000000007AAA', 'Cynthia Long'), ('005000000000002AAA', 'Samantha Dubois')) "
        "t(rep_id, rep_name)"
    )
    connection.execute(
        """create table marts.lead_sla as select * from (values
        ('00Q1', 1, '005000000000007AAA', '005000000000002AAA', 'breached',
         timestamp '2026-11-01 09:00:00', timestamp '2026-11-01 09:05:00', null::timestamp, false),
        ('00Q2', 2, '005000000000007AAA', '005000000000002AAA', 'on_track',
         timestamp '2026-11-01 09:30:00', timestamp '2026-11-01 10:30:00', null::timestamp, false),
        ('00Q3', 1, '005000000000007AAA', '005000000000002AAA', 'breached',
         timestamp '2026-11-01 08:00:00', timestamp '2026-11-01 08:05:00',
         timestamp '2026-11-01 08:30:00', false),
        ('00Q4', 1, '005000000000007AAA', '005000000000002AAA', 'breached',
         timestamp '2026-10-01 08:00:00', timestamp '2026-10-01 08:05:00',
         timestamp '2026-10-01 09:00:00', true))
        t(crm_id, tier, owner_id, escalation_target, sla_status, sla_started_at, sla_due_at,
          first_response_at, is_due_before_routing)"""
    )


def test_each_breach_is_raised_once(con):
    sent: list[list[alert_channels.Alert]] = []
    first = alerts.raise_new_breaches(con, "run1", AS_OF, notifiers={"fake": sent.append})
    assert (first.raised, first.notified) == (2, 2)
    assert sorted(a.crm_id for a in sent[0]) == ["00Q1", "00Q3"]
    message = next(a.message for a in sent[0] if a.crm_id == "00Q1")
    assert "Cynthia Long" in message and "escalate to Samantha Dubois" in message and "Tier 1" in message
    assert "late" in next(a.message for a in sent[0] if a.crm_id == "00Q3")
    again = alerts.raise_new_breaches(con, "run2", AS_OF, notifiers={"fake": sent.append})
    assert (again.raised, again.notified) == (0, 0) and len(sent) == 1
    rows = con.execute("select alert_id, run_id, notified_at from ops.alerts order by alert_id").fetchall()
    assert [r[0] for r in rows] == [
        "sla_breach:00Q1:2026-11-01T09:00:00",
        "sla_breach:00Q3:2026-11-01T08:00:00",
    ]
    assert {r[1] for r in rows} == {"run1"} and all(r[2] is not None for r in rows)


def test_a_breach_due_before_routing_saw_the_lead_is_counted_not_alerted(con):
    # 00Q4: a kept working owner's clock from the Lead's creation fell due a month before
    # routing first saw the Lead: reported as a breach, no alert
    alerts.raise_new_breaches(con, "run1", AS_OF, notifiers={})
    assert con.execute("select count(*) from ops.alerts where crm_id = '00Q4'").fetchall()[0][0] == 0
    status = alerts.open_breaches(con)
    assert (status["breached"], status["breached_unanswered"], status["breached_before_routing"]) == (3, 1, 1)


def test_run_summary_alert_counts_match_status(con):
    sent: list[list[alert_channels.Alert]] = []
    alerts.raise_new_breaches(con, "run1", AS_OF, notifiers={"fake": sent.append})
    first = alerts.run_alert_counts(con, "run1")
    status = alerts.open_breaches(con)
    assert first == {
        "sla_alerts_raised": 2,
        "sla_alerts_pending": 0,
        "sla_alert_deliveries_failed": 0,
        "sla_alert_deliveries_given_up": 0,
        "sla_breaches": status["breached"],
        "sla_breaches_unanswered": status["breached_unanswered"],
        "sla_breaches_before_routing": 1,
        "owner_alerts_raised": 0,
        "owner_alerts_held": 0,
    }
    # every breach that can be alerted has exactly one alert
    assert first["sla_breaches"] - first["sla_breaches_before_routing"] == 2
    alerts.raise_new_breaches(con, "run2", AS_OF, notifiers={"fake": sent.append})
    assert alerts.run_alert_counts(con, "run2")["sla_alerts_raised"] == 0

    def broken(batch):
        raise RuntimeError("down")

    con.execute("update marts.lead_sla set sla_status = 'breached' where crm_id = '00Q2'")
    alerts.raise_new_breaches(con, "run3", AS_OF, notifiers={"broken": broken})
    assert alerts.run_alert_counts(con, "run3") == {
        "sla_alerts_raised": 1,
        "sla_alerts_pending": 1,
        "sla_alert_deliveries_failed": 1,
        "sla_alert_deliveries_given_up": 0,
        "sla_breaches": 4,
        "sla_breaches_unanswered": 2,
        "sla_breaches_before_routing": 1,
        "owner_alerts_raised": 0,
        "owner_alerts_held": 0,
    }


def test_a_new_clock_that_breaches_is_a_new_alert(con):
    alerts.raise_new_breaches(con, "run1", AS_OF, notifiers={})
    con.execute(
        "update marts.lead_sla set sla_started_at = timestamp '2026-11-01 09:40:00' where crm_id = '00Q1'"
    )
    later = alerts.raise_new_breaches(con, "run2", AS_OF, notifiers={})
    assert later.raised == 1


def test_a_failing_channel_leaves_alerts_pending_until_it_works(con):
    def broken(batch):
        raise ConnectionError("webhook down")

    failed = alerts.raise_new_breaches(con, "run1", AS_OF, notifiers={"slack": broken})
    assert failed.raised == 2 and failed.pending == 2 and failed.notified == 0
    assert "slack: webhook down" in failed.errors[0]
    sent: list = []
    retried = alerts.raise_new_breaches(con, "run2", AS_OF, notifiers={"slack": sent.append})
    assert retried.raised == 0 and retried.notified == 2 and len(sent[0]) == 2
    assert con.execute("select count(*) from ops.alerts where notified_at is null").fetchall()[0][0] == 0


def test_channels_from_environment(monkeypatch):
    monkeypatch.delenv("LEADSCORE_SLACK_WEBHOOK_URL", raising=False)
    monkeypatch.delenv("LEADSCORE_SMTP_HOST", raising=False)
    assert alert_channels.configured_notifiers() == {}
    monkeypatch.setenv("LEADSCORE_SLACK_WEBHOOK_URL", "https://hooks.slack.invalid/T/B/x")
    monkeypatch.setenv("LEADSCORE_SMTP_HOST", "localhost")
    monkeypatch.setenv("LEADSCORE_SMTP_TO", "revops@example.com")
    assert set(alert_channels.configured_notifiers()) == {"slack", "smtp"}


def test_channels_from_airflow_connections(monkeypatch):
    monkeypatch.delenv("LEADSCORE_SLACK_WEBHOOK_URL", raising=False)
    monkeypatch.setenv(
        "AIRFLOW_CONN_LEADSCORE_SLACK", '{"conn_type": "http", "password": "https://hooks.invalid/x"}'
    )
    assert set(alert_channels.configured_notifiers()) == {"slack"}


def test_slack_and_smtp_deliver_to_local_servers():
    alert = alert_channels.Alert("a", "sla_breach", "00Q1", "SLA breached: Lead 00Q1")
    with WebhookServer() as webhook, SmtpServer() as smtp:
        alert_channels.slack_notifier(webhook.url(WEBHOOK_PATH))([alert])
        alert_channels.smtp_notifier(
            "127.0.0.1", smtp.port, "leadscore@x", ["revops@x"], "leadscore", SMTP_PASSWORD
        )([alert])
    assert "00Q1" in json.loads(webhook.posts[0])["text"]
    assert len(smtp.messages) == 1 and "00Q1" in smtp.messages[0]
    assert smtp.logins == [f"\0leadscore\0{SMTP_PASSWORD}"]


def use_local_channels(monkeypatch, webhook: WebhookServer | None, smtp: SmtpServer | None) -> None:
    """Point the environment's Slack and SMTP channels at the local servers."""
    if webhook is not None:
        monkeypatch.setenv("LEADSCORE_SLACK_WEBHOOK_URL", webhook.url(WEBHOOK_PATH))
    if smtp is not None:
        monkeypatch.setenv("LEADSCORE_SMTP_HOST", "127.0.0.1")
        monkeypatch.setenv("LEADSCORE_SMTP_PORT", str(smtp.port))
        monkeypatch.setenv("LEADSCORE_SMTP_TO", "revops@example.com")
        monkeypatch.setenv("LEADSCORE_SMTP_USER", "leadscore")
        monkeypatch.setenv("LEADSCORE_SMTP_PASSWORD", SMTP_PASSWORD)


def deliveries(con) -> dict[tuple[str, str], tuple[str, int]]:
    rows = con.execute("select alert_id, channel, status, attempts from ops.alert_deliveries").fetchall()
    return {
        (alert_id.split(":")[1], channel): (state, attempts) for alert_id, channel, state, attempts in rows
    }


def test_a_failing_channel_does_not_make_the_others_send_again(con, monkeypatch):
    with WebhookServer(status=500) as webhook, SmtpServer() as smtp:
        use_local_channels(monkeypatch, webhook, smtp)
        first = alerts.raise_new_breaches(con, "run1", AS_OF)
        assert len(webhook.posts) == 1 and len(smtp.messages) == 1

        webhook.status = 200  # Slack is back: only Slack is sent to, e-mail is not sent again
        later = AS_OF + timedelta(minutes=5)
        second = alerts.raise_new_breaches(con, "run2", later)
        assert len(webhook.posts) == 2 and len(smtp.messages) == 1
        assert all(crm_id in json.loads(webhook.posts[1])["text"] for crm_id in ("00Q1", "00Q3"))

        rerun = alerts.raise_new_breaches(con, "run2", later)  # the same interval again
        assert len(webhook.posts) == 2 and len(smtp.messages) == 1
    assert (first.raised, first.notified, first.pending) == (2, 0, 2)
    assert first.sent == {"log": 2, "smtp": 2} and first.failed == {"slack": 2}
    assert second.sent == {"slack": 2} and (second.notified, second.pending) == (2, 0)
    assert (rerun.raised, rerun.notified, rerun.sent) == (0, 0, {})
    assert deliveries(con) == {
        **{(crm_id, "log"): ("sent", 1) for crm_id in ("00Q1", "00Q3")},
        **{(crm_id, "smtp"): ("sent", 1) for crm_id in ("00Q1", "00Q3")},
        **{(crm_id, "slack"): ("sent", 2) for crm_id in ("00Q1", "00Q3")},  # failed once, then sent
    }
    rows = con.execute("select notified_at, channels from ops.alerts").fetchall()
    assert rows == [(later, '["log", "slack", "smtp"]')] * 2


def test_a_channel_that_keeps_failing_gives_up_after_max_attempts(con):
    calls = {"slack": 0, "smtp": 0}

    def broken(batch):
        calls["slack"] += 1
        raise ConnectionError("webhook down")

    def working(batch):
        calls["smtp"] += 1

    channels = {"slack": broken, "smtp": working}
    results = [alerts.raise_new_breaches(con, f"run{n}", AS_OF, channels, max_attempts=3) for n in (1, 2, 3)]
    assert calls == {"slack": 3, "smtp": 1}
    assert [r.failed for r in results] == [{"slack": 2}, {"slack": 2}, {}]
    assert [r.pending for r in results] == [2, 2, 0] and results[2].gave_up == {"slack": 2}
    assert deliveries(con)[("00Q1", "slack")] == ("gave_up", 3)
    assert con.execute("select distinct channels from ops.alerts").fetchall() == [('["log", "smtp"]',)]
    fourth = alerts.raise_new_breaches(con, "run4", AS_OF, channels, max_attempts=3)
    assert calls == {"slack": 3, "smtp": 1} and fourth.errors == []
    counts = alerts.run_alert_counts(con, "run3")
    assert (counts["sla_alert_deliveries_given_up"], counts["sla_alerts_pending"]) == (2, 0)
    assert alerts.delivery_status(con)["slack"] == {
        "sent": 0,
        "retrying": 0,
        "gave_up": 2,
        "last_error": "webhook down",
    }


def test_leadscore_status_shows_the_deliveries_per_channel(settings):
    def broken(batch):
        raise ConnectionError("webhook down")

    with warehouse.connect(settings.warehouse) as connection:
        build_world(connection)
        alerts.raise_new_breaches(connection, "run1", AS_OF, {"slack": broken})
    shown = status.overall_status(settings)["sla_alert_deliveries"]
    assert shown["slack"] == {"sent": 0, "retrying": 2, "gave_up": 0, "last_error": "webhook down"}
    assert shown["log"]["sent"] == 2
    text = status.format_status(status.overall_status(settings))
    assert "SLA alert deliveries" in text and "webhook down" in text


def test_alerts_notified_before_the_upgrade_are_not_sent_again(con):
    # a warehouse of the previous version: ops.alerts with notified_at, no ops.alert_deliveries;
    # 00Q1 was notified on every channel then, 00Q3's notification had failed
    for column, kind in alerts.ALERTS_COLUMNS.items():
        con.execute(f"alter table ops.alerts add column if not exists {column} {kind}")
    con.execute(
        "insert into ops.alerts (alert_id, kind, crm_id, message, run_id, raised_at, notified_at, channels) "
        "values ('sla_breach:00Q1:2026-11-01T09:00:00', 'sla_breach', '00Q1', 'old 00Q1', 'old', "
        "timestamp '2026-11-01 09:10:00', timestamp '2026-11-01 09:10:00', '[\"log\", \"slack\"]'), "
        "('sla_breach:00Q3:2026-11-01T08:00:00', 'sla_breach', '00Q3', 'old 00Q3', 'old', "
        "timestamp '2026-11-01 08:10:00', null, null)"
    )
    assert not warehouse.table_exists(con, "ops", "alert_deliveries")
    sent: dict[str, list[str]] = {"slack": [], "smtp": []}
    channels = {name: (lambda batch, name=name: sent[name].extend(a.crm_id for a in batch)) for name in sent}
    result = alerts.raise_new_breaches(con, "upgraded", AS_OF, channels)
    assert result.raised == 0 and sent == {"slack": ["00Q3"], "smtp": ["00Q3"]}
    alerts.raise_new_breaches(con, "upgraded2", AS_OF, channels)
    assert sent == {"slack": ["00Q3"], "smtp": ["00Q3"]}
    assert {crm_id for crm_id, _ in deliveries(con)} == {"00Q3"}


def all_ops_text(con) -> str:
    """Every value of every ops table, as text."""
    tables = [
        r[0]
        for r in con.execute("select table_name from duckdb_tables() where schema_name = 'ops'").fetchall()
    ]
    return json.dumps({t: con.execute(f"select * from ops.{t}").fetchall() for t in tables}, default=str)


def log_text(caplog) -> str:
    return "\n".join([caplog.text, *(f"{r.getMessage()} {r.exc_text or ''}" for r in caplog.records)])


@pytest.mark.parametrize("failure", ["http_500_echoing_the_path", "connection_refused"])
def test_the_webhook_url_never_reaches_errors_logs_rows_or_the_task_result(
    con, settings, monkeypatch, caplog, failure
):
    caplog.set_level(logging.DEBUG)  # urllib3 (under requests) logs the request path at DEBUG
    with WebhookServer(status=500, echo_path=True) as webhook:
        use_local_channels(monkeypatch, webhook, None)
        if failure == "connection_refused":
            monkeypatch.setenv(
                "LEADSCORE_SLACK_WEBHOOK_URL", f"http://127.0.0.1:{closed_port()}{WEBHOOK_PATH}"
            )
        task_result = alert_sla(make_context("run1", AS_OF, settings))
    token = WEBHOOK_PATH.rsplit("/", 1)[1]
    places = {
        "task result (XCom)": json.dumps(task_result),
        "logs": log_text(caplog),
        "ops tables": all_ops_text(con),
    }
    for place, text in places.items():
        assert token not in text and WEBHOOK_PATH not in text, place
    shown = json.dumps(alerts.delivery_status(con))  # leadscore status
    assert token not in shown and "127.0.0.1" in shown
    error = task_result["errors"][0]
    expected = "answered HTTP 500: no_service for ***" if "500" in failure else "unreachable"
    assert error.startswith("slack: Slack webhook http://127.0.0.1:") and expected in error
    assert task_result["failed"] == {"slack": 2} and "alert channel slack failed" in places["logs"]


def test_the_smtp_password_never_reaches_errors_logs_or_rows(con, monkeypatch, caplog):
    caplog.set_level(logging.DEBUG)
    with SmtpServer(refuse_login=True) as smtp:
        use_local_channels(monkeypatch, None, smtp)
        result = alerts.raise_new_breaches(con, "run1", AS_OF)
    assert smtp.logins == [f"\0leadscore\0{SMTP_PASSWORD}"] and smtp.messages == []
    forms = [SMTP_PASSWORD, base64.b64encode(f"\0leadscore\0{SMTP_PASSWORD}".encode()).decode()]
    for text in (json.dumps(result.as_dict()), log_text(caplog), all_ops_text(con)):
        assert not any(form in text for form in forms)
    assert result.errors[0].startswith(
        f"smtp: SMTP server 127.0.0.1:{smtp.port} failed: SMTPAuthenticationError"
    )
    assert "535" in result.errors[0] and result.failed == {"smtp": 2}


def test_monitor_soql_takes_only_checked_ids():
    queries = task_queries([f"00Q{i:015d}" for i in range(450)], AS_OF, AS_OF)
    assert len(queries) == 3 and queries[0].startswith("SELECT Id,") and "WhoId IN ('00Q" in queries[0]
    with pytest.raises(ValueError, match="malformed"):
        task_queries(["00Q1' OR Name != '"], AS_OF, AS_OF)
