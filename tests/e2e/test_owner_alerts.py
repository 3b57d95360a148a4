"""Owner alerts end to end: generator, CRM sandbox over HTTPS, `leadscore run` stages (real
dbt on DuckDB, alert_sla) for consecutive hours. A rep's Lead requests a demo, signs up for a
trial and views pricing during the second hour: its composite score jumps by 20 or more, and
one score-jump alert (and one demo-request alert) for its owner lands in ops.alerts; a re-run
of the hour and the next hour raise nothing for it again. The generator's own later activity
(demo requests and pricing visits in the two hours after its end) raises score jumps of its
own in the second hour, only for the people who acted."""

from __future__ import annotations

import json
import re
from datetime import datetime, timedelta

import pytest

from tests.support import generated_world

END = datetime(2026, 11, 3, 15, 0, 0)  # a Tuesday: some reps' business hours are open
pytestmark = pytest.mark.e2e


@pytest.fixture(scope="module")
def world(tmp_path_factory):
    root = tmp_path_factory.mktemp("owner_alerts_e2e")
    with (
        pytest.MonkeyPatch.context() as mp,
        generated_world(root, mp, leads=400, days=30, seed=5, end=END) as made,
    ):
        yield made[0]


def rows(settings, sql: str, params: list | None = None) -> list[tuple]:
    from lead_scoring import warehouse

    with warehouse.connect(settings.warehouse) as con:
        return con.execute(sql, params or []).fetchall()


def test_score_jump_alert_lands_once_for_the_owner(world):
    from lead_scoring import pipeline, run_context

    settings = world
    first = pipeline.run_all(run_context.make_context("hour0", END))
    # a rep's open Lead with room to jump: intent low, composite at most 70
    crm_id, owner_id, composite = rows(
        settings,
        "select scores.crm_id, routing.owner_id, scores.composite_score from marts.lead_scores scores "
        "inner join marts.lead_routing routing on scores.crm_id = routing.crm_id "
        "where routing.owner_type = 'rep' and not scores.is_disqualified "
        "and scores.intent_score <= 20 and scores.composite_score <= 70 order by scores.crm_id limit 1",
    )[0]
    hour0_alerts = rows(settings, "select alert_id from ops.alerts where crm_id = ?", [crm_id])
    assert hour0_alerts == [] and first["owner_alerts_raised"] == len(
        rows(settings, "select 1 from ops.alerts where kind <> 'sla_breach'")
    )

    events = [
        ("demo_request", None, 10),
        ("free_trial_signup", None, 20),
        ("page_view", "https://example.com/pricing", 30),
        ("page_view", "https://example.com/pricing/enterprise", 40),
    ]
    landing = settings.landing / "map" / "events_owner_alerts_e2e.jsonl"
    landing.write_text(
        "".join(
            json.dumps(
                {
                    "event_id": f"owner-alerts-e2e-{n}",
                    "occurred_at": (END + timedelta(minutes=minutes)).isoformat() + "Z",
                    "crm_id": crm_id,
                    "event_type": event_type,
                    "url": url,
                    "properties": {},
                }
            )
            + "\n"
            for n, (event_type, url, minutes) in enumerate(events)
        )
    )
    second = pipeline.run_all(run_context.make_context("hour1", END + timedelta(hours=1)))
    (now,) = rows(settings, "select composite_score from marts.lead_scores where crm_id = ?", [crm_id])[0]
    assert now - composite >= 20, (composite, now)

    jumps = rows(
        settings,
        "select alert_id, owner_id, message, run_id, deliver_after, raised_at from ops.alerts "
        "where kind = 'score_jump' and crm_id = ?",
        [crm_id],
    )
    assert len(jumps) == 1
    alert_id, recipient, message, run_id, deliver_after, raised_at = jumps[0]
    # keyed by the low point's ledger row (the hour-0 score), told to the Lead's owner
    assert alert_id == f"score_jump:score_jump_20_24h:{crm_id}:{END:%Y-%m-%dT%H:%M:%S}"
    assert (recipient, run_id) == (owner_id, "hour1")
    # the text traces to the ledger's numbers
    low, high, delta = map(int, re.search(r"score (\d+) → (\d+) \(\+(\d+)\)", message).groups())
    assert (low, high, delta) == (int(composite), int(now), int(now) - int(composite))
    assert f"since {END:%Y-%m-%d %H:%M} UTC" in message
    # quiet hours: held until the owner's business hours, or delivered (log) now
    delivered = rows(
        settings, "select channel, status from ops.alert_deliveries where alert_id = ?", [alert_id]
    )
    assert delivered == ([] if deliver_after > raised_at else [("log", "sent")])
    # the demo request and the pricing visits: one signal alert each for the UTC day
    day = f"{END:%Y-%m-%d}T00:00:00"
    assert rows(
        settings, "select alert_id from ops.alerts where kind = 'signal' and crm_id = ? order by 1", [crm_id]
    ) == [(f"signal:demo_request:{crm_id}:{day}",), (f"signal:pricing_page:{crm_id}:{day}",)]
    # every alert due is in ops.alerts once; the run raised exactly the new ones
    assert rows(
        settings,
        "select count(*) from marts.owner_alerts_due due where not exists "
        "(select 1 from ops.alerts a where a.alert_id = due.alert_id)",
    ) == [(0,)]
    assert second["owner_alerts_raised"] == len(
        rows(settings, "select 1 from ops.alerts where run_id = 'hour1' and kind <> 'sla_breach'")
    )
    # the generator's later activity: people who acted in the hour after END jump too, nobody
    # else does (without new activity a score only decays)
    acted = {
        r[0]
        for r in rows(
            settings,
            "select distinct scores.crm_id from intermediate.int_activities_classified activities "
            "inner join marts.lead_scores scores on activities.person_key = scores.person_key "
            "where activities.occurred_at > ?",
            [END],
        )
    }
    jumped = {
        r[0]
        for r in rows(
            settings, "select crm_id from ops.alerts where kind = 'score_jump' and run_id = 'hour1'"
        )
    }
    assert crm_id in jumped and jumped <= acted, jumped - acted
    assert jumped - {crm_id}, "the generator's later activity raises score jumps of its own"

    before = rows(settings, "select count(*) from ops.alerts")[0][0]
    again = pipeline.run_all(run_context.make_context("hour1_rerun", END + timedelta(hours=1)))
    assert again["owner_alerts_raised"] == 0 and again["sla_alerts_raised"] == 0
    assert rows(settings, "select count(*) from ops.alerts")[0][0] == before

    # the next hour still sees the jump inside its 24 hours: the same window, no new alert
    pipeline.run_all(run_context.make_context("hour2", END + timedelta(hours=2)))
    assert rows(
        settings, "select alert_id from ops.alerts where kind = 'score_jump' and crm_id = ?", [crm_id]
    ) == [(alert_id,)]
