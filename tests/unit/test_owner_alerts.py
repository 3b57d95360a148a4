"""Owner alerts (``lead_scoring.owner_alerts``): each row of ``marts.owner_alerts_due`` raised
once into ``ops.alerts`` with its kind, held until the recipient's business hours
(``deliver_at``), one message per alert or one digest per recipient and pass, addressed to the
recipient (Slack mention, the CRM User's e-mail; checked against local servers), a channel that
cannot reach someone skipped, a failing one given up on. Which rows fire, and their windows, are
the dbt unit tests of int_owner_alerts_triggered."""

from __future__ import annotations

import json
from datetime import datetime, timedelta

import pytest

from lead_scoring import alert_channels, alerts, owner_alerts, warehouse
from tests.unit.cases.alert_servers import SmtpServer, WebhookServer
from tests.unit.test_alerts import no_channels  # noqa: F401 - autouse fixture: no channel configured

AS_OF = datetime(2026, 12, 7, 10, 0, 0)
CYNTHIA, NOAH, JAMES = "005000000000007AAA", "005000000000011AAA", "005000000000013AAA"


@pytest.fixture
def con(settings):
    with warehouse.connect(settings.warehouse) as connection:
        warehouse.ensure_schema(connection)
        for schema in ("marts", "staging", "seeds"):
            connection.execute(f"create schema {schema}")
        connection.execute(
            "create table staging.stg_salesforce__users as select * from (values "
            f"('{CYNTHIA}', 'Cynthia Long', 'cynthia.long@example.com'), "
            f"('{NOAH}', 'Noah Wood', 'noah.wood@example.com'), "
            f"('{JAMES}', 'James Brooks', null)) t(user_id, user_name, email)"
        )
        # Cynthia: Slack, single messages; Noah: digest, no Slack id; James: no row, no e-mail
        connection.execute(
            "create table seeds.alert_recipients as select * from (values "
            f"('{CYNTHIA}', 'U07CLONG', false), ('{NOAH}', null, true)) t(owner_id, slack_user_id, is_digest)"
        )
        due(connection, [])
        yield connection


def due(con, rows: list[tuple[str, str, str, datetime]]) -> None:
    """marts.owner_alerts_due as dbt leaves it: (alert_id, recipient_id, message, deliver_at)."""
    con.execute("drop table if exists marts.owner_alerts_due")
    con.execute(
        "create table marts.owner_alerts_due (alert_id varchar, rule_kind varchar, crm_id varchar, "
        "message varchar, tier integer, recipient_id varchar, deliver_at timestamp)"
    )
    for alert_id, recipient_id, message, deliver_at in rows:
        kind, _, crm_id, _ = alert_id.split(":", 3)
        con.execute(
            "insert into marts.owner_alerts_due values (?, ?, ?, ?, 2, ?, ?)",
            [alert_id, kind, crm_id, message, recipient_id, deliver_at],
        )


JUMP = ("score_jump:jump20:00QA:2026-12-06T09:00:00", CYNTHIA, "Lead 00QA: score 41 → 67 (+26)", AS_OF)
PRICING = ("signal:pricing:00QB:2026-12-07T00:00:00", CYNTHIA, "Lead 00QB: Pricing page visit", AS_OF)


def calls(sent: list[list[alert_channels.Alert]]) -> list[list[str]]:
    return [[a.alert_id for a in batch] for batch in sent]


def test_each_owner_alert_is_raised_once_with_its_kind(con):
    due(con, [JUMP, PRICING])
    sent: list[list[alert_channels.Alert]] = []
    first = owner_alerts.raise_owner_alerts(con, "run1", AS_OF, {"fake": sent.append})
    assert (first.raised, first.notified, first.held) == (2, 2, 0)
    # Cynthia takes single messages: one call per alert
    assert sorted(calls(sent)) == sorted([[JUMP[0]], [PRICING[0]]])
    rows = con.execute("select alert_id, kind, owner_id, run_id from ops.alerts order by alert_id").fetchall()
    assert rows == [
        (JUMP[0], "score_jump", CYNTHIA, "run1"),
        (PRICING[0], "signal", CYNTHIA, "run1"),
    ]
    # the next run sees the same firings (the same window): nothing raised, nothing sent
    again = owner_alerts.raise_owner_alerts(con, "run2", AS_OF + timedelta(hours=1), {"fake": sent.append})
    assert (again.raised, again.notified) == (0, 0) and len(sent) == 2
    assert alerts.run_alert_counts(con, "run1")["owner_alerts_raised"] == 2
    assert alerts.run_alert_counts(con, "run2")["owner_alerts_raised"] == 0
    # SLA passes never offer owner alerts, and the other way round
    assert alerts.open_alerts(con)[0] == []


def test_alert_outside_hours_is_held_until_they_open(con):
    opens = AS_OF + timedelta(hours=3)
    due(con, [(JUMP[0], CYNTHIA, JUMP[2], opens)])
    sent: list[list[alert_channels.Alert]] = []
    first = owner_alerts.raise_owner_alerts(con, "run1", AS_OF, {"fake": sent.append})
    assert (first.raised, first.held, first.notified) == (1, 1, 0) and sent == []
    assert alerts.run_alert_counts(con, "run1")["owner_alerts_held"] == 1
    # an hour later the owner's hours have not started: still held (the mart moves on, the row stays)
    due(con, [])
    owner_alerts.raise_owner_alerts(con, "run2", AS_OF + timedelta(hours=1), {"fake": sent.append})
    assert sent == []
    # the pass at the opening delivers it, once
    at_open = owner_alerts.raise_owner_alerts(con, "monitor", opens, {"fake": sent.append})
    assert (at_open.notified, at_open.held) == (1, 0) and calls(sent) == [[JUMP[0]]]
    owner_alerts.raise_owner_alerts(con, "run4", opens + timedelta(hours=1), {"fake": sent.append})
    assert len(sent) == 1
    assert alerts.run_alert_counts(con, "run4")["owner_alerts_held"] == 0


def test_digest_lists_all_of_an_owners_alerts_in_one_message(con):
    held = ("tier_up:hot:00QN1:2026-12-07T06:00:00", NOAH, "Lead 00QN1: up to Tier 1", AS_OF)
    due(con, [held])
    sent: list[list[alert_channels.Alert]] = []
    owner_alerts.raise_owner_alerts(con, "run0", AS_OF - timedelta(hours=4), {"fake": sent.append})
    assert sent == []  # raised at 06:00, held until 10:00
    due(
        con,
        [
            held,
            ("score_jump:jump20:00QN2:2026-12-06T12:00:00", NOAH, "Lead 00QN2: score 30 → 55 (+25)", AS_OF),
            ("signal:pricing:00QN3:2026-12-07T00:00:00", NOAH, "Lead 00QN3: Pricing page visit", AS_OF),
            JUMP,
            PRICING,
        ],
    )
    result = owner_alerts.raise_owner_alerts(con, "run1", AS_OF, {"fake": sent.append})
    assert result.raised == 4 and result.notified == 5
    noah = [batch for batch in calls(sent) if any(":00QN" in alert_id for alert_id in batch)]
    # Noah (digest): one message with his three, the held one included; Cynthia: one each
    assert len(noah) == 1 and sorted(noah[0]) == sorted(
        [held[0], "score_jump:jump20:00QN2:2026-12-06T12:00:00", "signal:pricing:00QN3:2026-12-07T00:00:00"]
    )
    assert len(sent) == 3 and all(len(batch) == 1 for batch in calls(sent) if batch != noah[0])


def test_channels_address_the_owner_and_skip_who_they_cannot_reach(con):
    james = ("signal:demo:00QJ:2026-12-07T00:00:00", JAMES, "Lead 00QJ: Demo request", AS_OF)
    due(con, [JUMP, (PRICING[0], NOAH, "Lead 00QB: Pricing page visit", AS_OF), james])
    with WebhookServer() as webhook, SmtpServer() as smtp:
        channels = {
            "slack": alert_channels.slack_notifier(webhook.url("/services/T0/B0/tok3n-owner")),
            "smtp": alert_channels.smtp_notifier("127.0.0.1", smtp.port, "leadscore@x", ["revops@x"]),
        }
        result = owner_alerts.raise_owner_alerts(con, "run1", AS_OF, channels)
        again = owner_alerts.raise_owner_alerts(con, "run2", AS_OF, channels)
    # Slack: only Cynthia has a Slack id, and is mentioned; e-mail: Cynthia and Noah, at their
    # CRM User addresses, never the SLA recipients; James has neither
    assert [json.loads(post)["text"].split("\n")[0] for post in webhook.posts] == [
        "<@U07CLONG> leadscore: 1 alert(s) on your records"
    ]
    recipients = sorted(
        line for message in smtp.messages for line in message.splitlines() if line.startswith("To:")
    )
    assert recipients == ["To: cynthia.long@example.com", "To: noah.wood@example.com"]
    assert result.sent == {"log": 3, "slack": 1, "smtp": 2}
    assert result.skipped == {"slack": 2, "smtp": 1} and result.notified == 3
    assert (again.raised, again.notified, again.sent) == (0, 0, {})
    skipped = con.execute(
        "select alert_id, channel, last_error from ops.alert_deliveries "
        "where status = 'skipped' order by 1, 2"
    ).fetchall()
    assert (james[0], "smtp", f"no e-mail on the CRM User {JAMES}") in skipped
    assert (james[0], "slack", f"no Slack user id for {JAMES} (seeds/alert_recipients.csv)") in skipped
    # no e-mail address in what is kept
    kept = con.execute("select string_agg(message, ' ') from ops.alerts").fetchall()[0][0]
    assert "@" not in kept


def test_failing_channel_gives_up_on_owner_alerts(con):
    due(con, [JUMP])

    def broken(batch):
        raise RuntimeError("mail relay down")

    results = [
        owner_alerts.raise_owner_alerts(con, f"run{n}", AS_OF, {"smtp": broken}, max_attempts=2)
        for n in (1, 2)
    ]
    assert results[0].failed == {"smtp": 1} and results[0].pending == 1
    assert results[1].gave_up == {"smtp": 1} and results[1].notified == 1
    third = owner_alerts.raise_owner_alerts(con, "run3", AS_OF, {"smtp": broken}, max_attempts=2)
    assert (third.raised, third.failed, third.gave_up) == (0, {}, {})


def test_alerts_of_an_earlier_version_keep_their_kind_sla_breach(con):
    con.execute(
        "insert into ops.alerts (alert_id, kind, crm_id, message, run_id, raised_at) "
        "values ('sla_breach:00Q1:2026-11-01T09:00:00', null, '00Q1', 'old', 'run0', ?)",
        [AS_OF],
    )
    alerts.ensure_alerts_table(con)
    assert con.execute("select kind from ops.alerts").fetchall() == [("sla_breach",)]
    # and an owner pass leaves them to the SLA passes
    assert owner_alerts.raise_owner_alerts(con, "run1", AS_OF, {}).notified == 0


def test_a_signal_rule_naming_an_unknown_signal_is_reported(con):
    con.execute("create table seeds.intent_signals as select 'pricing_page_visit' as signal_id")
    con.execute(
        "create table seeds.alert_rules as select * from (values "
        "('pricing', 'signal', 'pricing_page_visit', true), ('typo', 'signal', 'pricing_pge_visit', true), "
        "('off', 'signal', 'nope', false), ('jump', 'score_jump', null, true)) "
        "t(rule_id, rule_kind, signal_id, is_enabled)"
    )
    result = owner_alerts.raise_owner_alerts(con, "run1", AS_OF, {})
    assert result.errors == [
        "alert rule typo names signal 'pricing_pge_visit', which seeds/intent_signals.csv does not have: "
        "it never fires; fix alert_rules.csv"
    ]


def test_the_log_takes_an_owners_alerts_in_one_call_with_one_line_each(con, monkeypatch, caplog):
    """Many alerts for owners who want single messages (and one who wants a digest): the log
    still writes one line per alert, but its delivery rows are written once per pass, not once
    per alert or per owner (a first run at scale raises one alert per breach and score jump)."""
    many = [
        (f"signal:pricing:00Q{n:05d}:2026-12-07T00:00:00", [CYNTHIA, JAMES, NOAH][n % 3], f"Lead {n}", AS_OF)
        for n in range(300)
    ]
    due(con, many)
    writes = []
    record = alerts._record

    def counted(con, channel, rows, *rest):
        writes.append((channel, len(rows)))
        record(con, channel, rows, *rest)

    monkeypatch.setattr(alerts, "_record", counted)
    sent: list[list[alert_channels.Alert]] = []
    with caplog.at_level("WARNING", logger=alert_channels.log.name):
        result = owner_alerts.raise_owner_alerts(con, "run1", AS_OF, {"fake": sent.append})
    assert (result.raised, result.notified) == (300, 300)
    assert sorted(r.getMessage() for r in caplog.records if r.getMessage().startswith("Lead ")) == sorted(
        m for *_, m, _ in many
    )
    assert len(sent) == 200 + 1  # another channel: one message per alert, Noah's 100 in one digest
    assert sorted(w for w in writes if w[0] == "log") == [("log", 300)]
    assert (
        con.execute(
            "select count(*) from ops.alert_deliveries where channel = 'log' and status = 'sent'"
        ).fetchone()[0]
        == 300
    )
