"""SLA breach alerts: raised once per breach, pending while a channel fails, channels from
Airflow connections or environment variables, SOQL of the monitor built from checked Ids."""

from __future__ import annotations

from datetime import datetime

import pytest

from lead_scoring import alerts, warehouse
from lead_scoring.sla_monitor import task_queries

AS_OF = datetime(2026, 11, 1, 10, 0, 0)


@pytest.fixture
def con(settings):
    with warehouse.connect(settings.warehouse) as connection:
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
        yield connection


def test_each_breach_is_raised_once(con):
    sent: list[list[alerts.Alert]] = []
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
    sent: list[list[alerts.Alert]] = []
    alerts.raise_new_breaches(con, "run1", AS_OF, notifiers={"fake": sent.append})
    first = alerts.run_alert_counts(con, "run1")
    status = alerts.open_breaches(con)
    assert first == {
        "sla_alerts_raised": 2,
        "sla_alerts_pending": 0,
        "sla_breaches": status["breached"],
        "sla_breaches_unanswered": status["breached_unanswered"],
        "sla_breaches_before_routing": 1,
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
        "sla_breaches": 4,
        "sla_breaches_unanswered": 2,
        "sla_breaches_before_routing": 1,
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
    assert alerts.configured_notifiers() == {}
    monkeypatch.setenv("LEADSCORE_SLACK_WEBHOOK_URL", "https://hooks.slack.invalid/T/B/x")
    monkeypatch.setenv("LEADSCORE_SMTP_HOST", "localhost")
    monkeypatch.setenv("LEADSCORE_SMTP_TO", "revops@example.com")
    assert set(alerts.configured_notifiers()) == {"slack", "smtp"}


def test_channels_from_airflow_connections(monkeypatch):
    monkeypatch.delenv("LEADSCORE_SLACK_WEBHOOK_URL", raising=False)
    monkeypatch.setenv(
        "AIRFLOW_CONN_LEADSCORE_SLACK", '{"conn_type": "http", "password": "https://hooks.invalid/x"}'
    )
    assert set(alerts.configured_notifiers()) == {"slack"}


def test_slack_and_smtp_deliver(monkeypatch):
    posted = {}

    class Response:
        status_code = 200
        text = "ok"

    def fake_post(url, json, timeout):
        posted.update(url=url, text=json["text"])
        return Response()

    monkeypatch.setattr(alerts.requests, "post", fake_post)
    alert = alerts.Alert("a", "sla_breach", "00Q1", "SLA breached: Lead 00Q1")
    alerts.slack_notifier("https://hooks.invalid/x")([alert])
    assert posted["url"] == "https://hooks.invalid/x" and "00Q1" in posted["text"]

    sent = {}

    class FakeSMTP:
        def __init__(self, host, port, timeout):
            sent["server"] = (host, port)

        def __enter__(self):
            return self

        def __exit__(self, *exc):
            return False

        def send_message(self, message):
            sent["message"] = message

    monkeypatch.setattr(alerts.smtplib, "SMTP", FakeSMTP)
    alerts.smtp_notifier("mail.invalid", 2525, "leadscore@x", ["revops@x"])([alert])
    assert sent["server"] == ("mail.invalid", 2525) and "00Q1" in sent["message"].get_content()


def test_monitor_soql_takes_only_checked_ids():
    queries = task_queries([f"00Q{i:015d}" for i in range(450)], AS_OF, AS_OF)
    assert len(queries) == 3 and queries[0].startswith("SELECT Id,") and "WhoId IN ('00Q" in queries[0]
    with pytest.raises(ValueError, match="malformed"):
        task_queries(["00Q1' OR Name != '"], AS_OF, AS_OF)
