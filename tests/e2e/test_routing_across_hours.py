"""Routing and SLAs end to end: generator, CRM sandbox over HTTPS, `leadscore run` stages
(extract, load, GX, dbt, write-back, alert_sla) for consecutive hours and the SLA monitor.

Owners and SLA fields land in the CRM, OwnerId is sent only for Leads whose owner routing
changed, a person's reassignment in the CRM wins over routing, a breach raises one alert
across runs, and a re-run of an hour raises nothing. Leads whose owner made max_attempts
Tasks without a response are recycled to nurture (queue, no Task, no clock, a Campaign
member) and one is brought back to a rep by a demo request the next hour."""

from __future__ import annotations

from datetime import datetime, timedelta

import pytest

from tests.support import generated_world

END = datetime(2026, 11, 1, 10, 0, 0)
pytestmark = pytest.mark.e2e


@pytest.fixture(scope="module")
def world(tmp_path_factory):
    root = tmp_path_factory.mktemp("routing_e2e")
    with (
        pytest.MonkeyPatch.context() as mp,
        generated_world(root, mp, leads=600, days=45, seed=11, end=END) as made,
    ):
        yield made


def open_breaches_now(settings) -> dict:
    from lead_scoring import warehouse
    from lead_scoring.alerts import open_breaches

    with warehouse.connect(settings.warehouse) as con:
        return open_breaches(con)


def change_lead_in_crm(db, crm_id: str, values: dict, at: datetime) -> None:
    """A person edits a Lead's ``values`` in the CRM at ``at`` (its SystemModstamp)."""
    import sqlite3

    from crm_sandbox.store import format_datetime

    sets = ", ".join(f"{field} = ?" for field in values)
    conn = sqlite3.connect(str(db), timeout=30)
    try:
        conn.execute(
            f"update Lead set {sets}, SystemModstamp = ?, LastModifiedDate = ? where Id = ?",
            [*values.values(), format_datetime(at), format_datetime(at), crm_id],
        )
        conn.commit()
    finally:
        conn.close()


def reassign_in_crm(db, crm_id: str, owner_id: str, at: datetime) -> None:
    """A person changes a Lead's owner in the CRM at ``at``."""
    change_lead_in_crm(db, crm_id, {"OwnerId": owner_id}, at)


# The rules by which routing gives a Lead to a rep (a handoff): not a kept working owner, not
# a person's reassignment in the CRM.
ROUTED_RULES = ("account_owner", "territory_match", "round_robin")


def handoff_tasks(settings, sandbox) -> dict:
    """The handoff Tasks as the CRM, the ledger and the payload see them, and the Tier 1-2
    Leads routing gave to a rep (their current assignment), counted from the routing ledger."""
    from collections import Counter

    from crm_sandbox.store import query_sql
    from lead_scoring import warehouse

    key = "Leadscore_Action_Id__c"
    with warehouse.connect(settings.warehouse) as con:
        ledger = dict(
            con.execute("select action_id, task_id from ops.crm_actions where object = 'Task'").fetchall()
        )
        payload = dict(
            con.execute(f"select {key}, _action_trigger from marts.sync_salesforce__tasks").fetchall()
        )
        routed = con.execute(
            "select assignments.crm_id, assignments.owner_id from marts.lead_assignments as assignments "
            "inner join marts.lead_routing as routing on assignments.crm_id = routing.crm_id "
            "and assignments.assigned_at = routing.assigned_at "
            "where assignments.owner_type = 'rep' and assignments.tier in (1, 2) "
            f"and assignments.routing_rule in {ROUTED_RULES}"
        ).fetchall()
    crm = Counter(r[0] for r in query_sql(sandbox.db, f"select {key} from Task where {key} is not null"))
    ids = dict(query_sql(sandbox.db, f"select {key}, Id from Task where {key} is not null"))
    return {"crm": crm, "ids": ids, "ledger": ledger, "payload": payload, "routed": set(routed)}


def nurture_members(settings, sandbox) -> dict:
    """The nurture memberships as the CRM (live members, key -> count), the ledger (member key
    -> member Id, removals) and the payload see them."""
    from collections import Counter

    from crm_sandbox.store import query_sql
    from lead_scoring import warehouse

    key = "Leadscore_Action_Id__c"
    with warehouse.connect(settings.warehouse) as con:
        ledger = dict(
            con.execute(
                "select action_id, task_id from ops.crm_actions where object = 'CampaignMember' "
                "and kind = 'nurture'"
            ).fetchall()
        )
        removed = dict(
            con.execute(
                "select action_id, task_id from ops.crm_actions where kind = 'nurture_removal'"
            ).fetchall()
        )
        payload = dict(
            con.execute(
                f"select {key}, coalesce(LeadId, ContactId) from marts.sync_salesforce__campaign_members"
            ).fetchall()
        )
        tier_3 = con.execute(
            "select count(*) from marts.lead_scores where tier = 3 and not is_converted"
        ).fetchall()[0][0]
    live = "from CampaignMember where IsDeleted = 0"
    crm = Counter(r[0] for r in query_sql(sandbox.db, f"select {key} {live}"))
    people = Counter(r[0] for r in query_sql(sandbox.db, f"select coalesce(LeadId, ContactId) {live}"))
    return {
        "crm": crm,
        "people": people,
        "ledger": ledger,
        "removed": removed,
        "payload": payload,
        "tier_3": tier_3,
    }


def recycled_leads(settings) -> dict:
    """The Leads routing recycled after max_attempts: crm_id -> (owner, rep it was taken
    from, reason), from marts.lead_routing."""
    from lead_scoring import warehouse

    with warehouse.connect(settings.warehouse) as con:
        rows = con.execute(
            "select crm_id, owner_id, previous_owner_id, routing_reason from marts.lead_routing "
            "where routing_rule = 'recycled_after_attempts'"
        ).fetchall()
    return {r[0]: r[1:] for r in rows}


def land_demo_request(settings, crm_id: str, at: datetime) -> None:
    """The person behind ``crm_id`` requests a demo at ``at`` (a JSONL event in the landing)."""
    import json

    path = settings.landing / "map" / "events_recycled_e2e.jsonl"
    event = {
        "event_id": f"recycled-e2e-{crm_id}",
        "occurred_at": at.isoformat() + "Z",
        "crm_id": crm_id,
        "event_type": "demo_request",
        "url": None,
        "properties": {},
    }
    path.write_text(json.dumps(event) + "\n")


def test_owners_sla_fields_and_alerts_once_across_hours(world):
    from crm_sandbox.store import query_sql
    from lead_scoring import pipeline, run_context, warehouse
    from lead_scoring.sla_monitor import monitor_once

    settings, sandbox = world
    before = dict(query_sql(sandbox.db, "select Id, OwnerId from Lead"))
    first = pipeline.run_all(run_context.make_context("hour0", END))
    assert first["crm_write_failures"] == 0

    # one handoff Task per Lead routing gave to a rep at Tier 1-2, no other: the CRM, the
    # ledger and the payload agree, each Task once, with the Id the ledger recorded
    tasks = handoff_tasks(settings, sandbox)
    assert tasks["routed"] and first["crm_tasks_created"] == len(tasks["routed"])
    assert set(tasks["crm"].values()) == {1} and set(tasks["crm"]) == set(tasks["ledger"])
    assert set(tasks["payload"]) == set(tasks["ledger"]) and set(tasks["payload"].values()) == {"routed"}
    assert {tuple(key.split(":")[1:3]) for key in tasks["ledger"]} == tasks["routed"]
    assert tasks["ledger"] == tasks["ids"]
    assert first["crm_task_failures"] == 0 and first["crm_tasks_held"] == 0

    # nurture: a member per Tier 3 person who may be e-mailed, once, as the payload says
    members = nurture_members(settings, sandbox)
    assert 0 < len(members["payload"]) <= members["tier_3"]
    assert set(members["crm"]) == set(members["ledger"]) == set(members["payload"])
    assert set(members["crm"].values()) == set(members["people"].values()) == {1}
    assert first["crm_campaign_members_created"] == len(members["payload"]) and not members["removed"]

    # recycled after max_attempts (6): the generator's unreachable Leads with 6 or more owner
    # Tasks after the person went quiet. In the nurture queue in the CRM, the reason counts the
    # owner's Tasks the CRM holds, no handoff Task, no SLA clock, a nurture member if e-mailable
    import re

    recycled = recycled_leads(settings)
    assert recycled, "the generator makes Leads whose owner's attempts went unanswered"
    with warehouse.connect(settings.warehouse) as con:
        nurture_queue = con.execute(
            "select queue_id from seeds.routing_queues where purpose = 'nurture'"
        ).fetchall()[0][0]
        clocked = {r[0] for r in con.execute("select crm_id from marts.lead_sla").fetchall()}
        # who may be e-mailed, as docs/write-back.md says it
        emailable = {
            r[0]
            for r in con.execute(
                "select scores.crm_id from marts.lead_scores scores "
                "left join intermediate.int_people_deduplicated people "
                "on scores.person_key = people.person_key "
                "left join intermediate.int_people_activity_summarized summary "
                "on scores.person_key = summary.person_key "
                "where scores.email is not null and not coalesce(people.has_opted_out_of_email, false) "
                "and not coalesce(people.has_hard_bounced, false) "
                "and not coalesce(summary.has_unsubscribe_event, false) "
                "and not coalesce(summary.has_hard_bounce_event, false)"
            ).fetchall()
        }
    crm_owner = dict(query_sql(sandbox.db, "select Id, OwnerId from Lead"))
    for crm_id, (owner_id, taken_from, reason) in recycled.items():
        found = re.fullmatch(
            r"Tier [12]: (\d+) owner Tasks since \d{4}-\d\d-\d\d without a response \(max_attempts 6\): "
            r"recycled to the marketing nurture queue",
            reason,
        )
        assert found, reason
        attempts = query_sql(
            sandbox.db,
            "select count(*) from Task where WhoId = ? and OwnerId = ? and Leadscore_Action_Id__c is null",
            [crm_id, taken_from],
        )[0][0]
        assert int(found.group(1)) == attempts >= 6, (crm_id, reason, attempts)
        assert owner_id == crm_owner[crm_id] == nurture_queue
    assert not {key.split(":")[1] for key in tasks["ledger"]} & set(recycled)
    assert not clocked & set(recycled)
    member_people = set(members["payload"].values())
    assert set(recycled) & member_people == set(recycled) & emailable != set()

    with warehouse.connect(settings.warehouse) as con:
        routed = con.execute(
            "select crm_id, owner_id, is_owner_changed, routing_rule from marts.lead_routing order by crm_id"
        ).fetchall()
        sla = dict(con.execute("select crm_id, sla_status from marts.lead_sla").fetchall())
        payload = dict(con.execute("select Id, OwnerId from marts.sync_salesforce__leads").fetchall())
        alerts_hour0 = con.execute("select count(*) from ops.alerts where kind = 'sla_breach'").fetchall()[0][
            0
        ]
        before_routing = con.execute(
            "select count(*) from marts.lead_sla where sla_status = 'breached' and is_due_before_routing"
        ).fetchall()[0][0]
        negative = con.execute(
            "select count(*) from marts.lead_sla where minutes_to_first_response < 0"
        ).fetchall()
    assert routed and alerts_hour0 == 0
    # working owners' clocks start at the Lead's creation: breaches from before routing are
    # counted (summary, status), never alerted, and no response time is negative
    assert negative == [(0,)]
    assert first["sla_alerts_raised"] == 0 and first["sla_breaches_before_routing"] == before_routing
    assert first["sla_breaches"] == open_breaches_now(settings)["breached"]
    crm = {
        r[0]: r[1:]
        for r in query_sql(sandbox.db, "select Id, OwnerId, SLA_Status__c, SLA_Due_At__c from Lead")
    }
    for crm_id, owner_id, changed, rule in routed:
        assert payload[crm_id] == owner_id
        assert crm[crm_id][0] == owner_id, (crm_id, rule)  # the CRM holds the routed owner
        assert changed == (before[crm_id] != owner_id)
        if crm_id in sla:
            assert crm[crm_id][1] == sla[crm_id] and crm[crm_id][2] is not None

    # a person moves a routed Tier 1-2 Lead to another rep, and a Tier 3 Lead out of the
    # nurture queue to a rep: routing keeps both owners and never sends OwnerId for them
    hot = next(r for r in routed if r[3] in ("territory_match", "round_robin", "account_owner"))
    nurture = next(r for r in routed if r[3] == "nurture_queue")
    person_choice = {
        hot[0]: "005000000000011AAA" if hot[1] != "005000000000011AAA" else "005000000000007AAA",
        nurture[0]: "005000000000007AAA",
    }
    for crm_id, owner_id in person_choice.items():
        reassign_in_crm(sandbox.db, crm_id, owner_id, END + timedelta(minutes=30))
    # and a nurture member (a Lead without a handoff Task) opts out of e-mail: their
    # membership must go
    with_task = {key.split(":")[1] for key in tasks["ledger"]}
    opted_out = next(
        lead
        for lead in sorted(members["payload"].values())
        if lead.startswith("00Q") and lead not in person_choice and lead not in with_task
    )
    change_lead_in_crm(sandbox.db, opted_out, {"HasOptedOutOfEmail": 1}, END + timedelta(minutes=30))
    # a recycled Lead's person responds: a demo request 20 minutes into the next hour
    comeback = sorted(set(recycled) & member_people)[0]
    land_demo_request(settings, comeback, END + timedelta(minutes=20))
    writes_before = query_sql(sandbox.db, "select max(seq) from _write_log")[0][0]

    second = pipeline.run_all(run_context.make_context("hour1", END + timedelta(hours=1)))
    assert second["crm_write_failures"] == 0
    hour1_members = nurture_members(settings, sandbox)
    left = {k for k, person in members["payload"].items() if k not in hour1_members["payload"]}
    assert opted_out in {members["payload"][k] for k in left}  # the opted-out person left ...
    assert comeback in {members["payload"][k] for k in left}  # ... and the recycled Lead back
    assert {k.removesuffix(":removed") for k in hour1_members["removed"]} == left  # ... was removed
    assert set(hour1_members["removed"].values()) == {members["ledger"][k] for k in left}  # by Id
    assert second["crm_campaign_members_removed"] == len(left)
    assert set(hour1_members["crm"]) == set(hour1_members["payload"])  # the CRM is the payload
    assert set(hour1_members["people"].values()) <= {1}
    # a Lead newly routed to a rep this hour came out of a queue because its person acted
    # after the end (the recycled Lead's demo request, the generator's later activity): its
    # score rose; nothing moves from rep to rep (a person's reassignment is no routing)
    with warehouse.connect(settings.warehouse) as con:
        newly_routed = con.execute(
            "select now.crm_id, now.routing_rule, earlier.owner_type, earlier.routing_rule "
            "from marts.lead_assignments now inner join marts.lead_assignments earlier "
            "on now.crm_id = earlier.crm_id and earlier.assigned_at = ? "
            "where now.assigned_at = ? and now.owner_type = 'rep' "
            "and now.routing_rule <> 'reassigned_in_crm'",
            [END, END + timedelta(hours=1)],
        ).fetchall()
        rose = {
            r[0]
            for r in con.execute(
                "select now.crm_id from marts.lead_score_history now inner join marts.lead_score_history "
                "earlier on now.crm_id = earlier.crm_id and earlier.scored_at = ? "
                "where now.scored_at = ? and now.composite_score > earlier.composite_score",
                [END, END + timedelta(hours=1)],
            ).fetchall()
        }
        still_recycled = con.execute(
            "select count(*) from marts.lead_assignments where assigned_at = ? "
            "and routing_rule = 'recycled_after_attempts'",
            [END + timedelta(hours=1)],
        ).fetchall()[0][0]
    assert (comeback, "recycled_after_attempts") in {(r[0], r[3]) for r in newly_routed}
    assert all(r[2] == "queue" and r[0] in rose for r in newly_routed), newly_routed
    assert set(recycled_leads(settings)) == set(recycled) - {comeback} and still_recycled == 0
    # one new routed Task per Lead routing gave a rep this hour, a sql Task for a rep's Lead
    # that crossed the SQL threshold; the hour-0 Tasks stay as made (the reassigned Lead's
    # too: it leaves the payload, its Task stays the rep's business)
    hour1 = handoff_tasks(settings, sandbox)
    new = set(hour1["ledger"]) - set(tasks["ledger"])
    assert {hour1["payload"][key] for key in new} <= {"sql", "routed"}
    new_routed = {key.split(":")[1] for key in new if hour1["payload"][key] == "routed"}
    assert comeback in new_routed
    assert new_routed == {r[0] for r in newly_routed if r[1] in ROUTED_RULES}
    assert second["crm_tasks_created"] == len(new) and set(hour1["crm"].values()) == {1}
    assert set(hour1["crm"]) == set(hour1["ledger"]) >= set(hour1["payload"])
    # a Lead leaves the Task payload when a person reassigned it, or when routing took it from
    # its rep (it decayed to Tier 3: the nurture queue); its Task stays as made
    with warehouse.connect(settings.warehouse) as con:
        queued = {
            r[0]
            for r in con.execute("select crm_id from marts.lead_routing where owner_type <> 'rep'").fetchall()
        }
    assert {key.split(":")[1] for key in set(hour1["ledger"]) - set(hour1["payload"])} <= set(
        person_choice
    ) | queued
    with warehouse.connect(settings.warehouse) as con:
        kept = {
            r[0]: r[1:]
            for r in con.execute(
                "select crm_id, owner_id, routing_rule, routing_reason from marts.lead_routing "
                "where crm_id in (?, ?)",
                list(person_choice),
            ).fetchall()
        }
    for crm_id, owner_id in person_choice.items():
        assert kept[crm_id][:2] == (owner_id, "reassigned_in_crm"), crm_id
        assert kept[crm_id][2].startswith("Reassigned in the CRM to "), kept[crm_id][2]
    crm_owners = dict(query_sql(sandbox.db, "select Id, OwnerId from Lead"))
    assert {i: crm_owners[i] for i in person_choice} == person_choice
    # their rows were sent (the owner moved, so the payload did) but with no OwnerId in them
    sent = query_sql(
        sandbox.db, "select record_id, values_json from _write_log where seq > ?", [writes_before]
    )
    assert set(person_choice) <= {r[0] for r in sent}
    assert not [r for r in sent if r[0] in person_choice and "OwnerId" in r[1]]
    with warehouse.connect(settings.warehouse) as con:
        breached = con.execute(
            "select count(*) from marts.lead_sla where sla_status = 'breached'"
        ).fetchall()[0][0]
        alerts = con.execute(
            "select count(*), count(distinct alert_id) from ops.alerts where kind = 'sla_breach'"
        ).fetchall()[0]
    alertable = breached - second["sla_breaches_before_routing"]
    assert alertable > 0 and alerts == (alertable, alertable)
    assert second["sla_alerts_raised"] == alertable and second["sla_breaches"] == breached

    again = pipeline.run_all(run_context.make_context("hour1_rerun", END + timedelta(hours=1)))
    assert again["crm_records_changed"] == 0
    assert again["crm_tasks_created"] == 0 and handoff_tasks(settings, sandbox)["crm"] == hour1["crm"]
    assert again["crm_campaign_members_created"] == again["crm_campaign_members_removed"] == 0
    assert nurture_members(settings, sandbox)["crm"] == hour1_members["crm"]
    assert again["sla_alerts_raised"] == 0 and again["sla_breaches"] == breached
    # 5 minutes later the monitor sees the Tier 2 clocks due at 11:00 breach: new alerts, once
    monitor = monitor_once(run_context.make_context("monitor", END + timedelta(hours=1, minutes=5)))
    assert monitor["refresh_sla"]["refreshed"] and monitor["pull_open_sla_tasks"]["open_clocks"] > 0
    with warehouse.connect(settings.warehouse) as con:
        breached_now = con.execute(
            "select count(*) from marts.lead_sla where sla_status = 'breached'"
        ).fetchall()
        assert (
            con.execute("select count(*) from ops.alerts where kind = 'sla_breach'").fetchall()[0][0]
            == breached_now[0][0] - second["sla_breaches_before_routing"]
        )
    assert monitor["alert_sla"]["raised"] == breached_now[0][0] - breached
    again = monitor_once(run_context.make_context("monitor_again", END + timedelta(hours=1, minutes=5)))
    assert again["alert_sla"]["raised"] == 0
    # the guarantees `python -m lead_scoring_dev.routing_check` counts (the done-when)
    from lead_scoring_dev.routing_check import figures

    with warehouse.connect(settings.warehouse) as con:
        check = figures(con)
    assert check["violations"] == dict.fromkeys(check["violations"], 0), check["violations"]
    assert check["counts"]["alerts"] > 0 and check["counts"]["tier_1_2_leads"] > 0
