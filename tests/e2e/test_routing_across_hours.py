"""Routing and SLAs end to end: generator, CRM sandbox over HTTPS, `leadscore run` stages
(extract, load, GX, dbt, write-back, alert_sla) for consecutive hours and the SLA monitor.

Owners and SLA fields land in the CRM, OwnerId is sent only for Leads whose owner routing
changed, a person's reassignment in the CRM wins over routing, a breach raises one alert
across runs, and a re-run of an hour raises nothing."""

from __future__ import annotations

from contextlib import contextmanager
from datetime import datetime, timedelta

import pytest

from lead_scoring.config import load_settings
from tests.support import isolated_env

END = datetime(2026, 11, 1, 10, 0, 0)
pytestmark = pytest.mark.e2e


@contextmanager
def generated_crm(root, leads: int, days: int, seed: int, end: datetime = END):
    """Settings isolated under ``root`` and a CRM sandbox serving generated data (``leads``
    over ``days`` up to ``end``), its MAP files in the landing folder; stopped at the end."""
    from crm_sandbox import runtime
    from crm_sandbox.store import load_parquet_dir
    from lead_scoring_dev.generate.synthetic import generate

    with pytest.MonkeyPatch.context() as mp:
        isolated_env(root, mp)
        for key in (
            "LEADSCORE_CRM_SOURCE",
            "LEADSCORE_DRY_RUN",
            "LEADSCORE_SLACK_WEBHOOK_URL",
            "LEADSCORE_SMTP_HOST",
        ):
            mp.delenv(key, raising=False)
        settings = load_settings()
        generate(settings.var_dir / "generated", settings.landing, leads=leads, days=days, seed=seed, end=end)
        load_parquet_dir(settings.sandbox_dir / "crm.sqlite", settings.var_dir / "generated" / "crm")
        sandbox = runtime.start(settings.sandbox_dir, port=0)
        try:
            yield settings, sandbox
        finally:
            runtime.stop(settings.sandbox_dir)


@pytest.fixture(scope="module")
def world(tmp_path_factory):
    with generated_crm(tmp_path_factory.mktemp("routing_e2e"), leads=600, days=45, seed=11) as pair:
        yield pair


def open_breaches_now(settings) -> dict:
    from lead_scoring import warehouse
    from lead_scoring.alerts import open_breaches

    with warehouse.connect(settings.warehouse) as con:
        return open_breaches(con)


def reassign_in_crm(db, crm_id: str, owner_id: str, at: datetime) -> None:
    """A person changes a Lead's owner in the CRM at ``at`` (its SystemModstamp)."""
    import sqlite3

    from crm_sandbox.store import format_datetime

    conn = sqlite3.connect(str(db), timeout=30)
    try:
        conn.execute(
            "update Lead set OwnerId = ?, SystemModstamp = ?, LastModifiedDate = ? where Id = ?",
            [owner_id, format_datetime(at), format_datetime(at), crm_id],
        )
        conn.commit()
    finally:
        conn.close()


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
        ledger = dict(con.execute("select action_id, task_id from ops.crm_actions").fetchall())
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

    with warehouse.connect(settings.warehouse) as con:
        routed = con.execute(
            "select crm_id, owner_id, is_owner_changed, routing_rule from marts.lead_routing"
        ).fetchall()
        sla = dict(con.execute("select crm_id, sla_status from marts.lead_sla").fetchall())
        payload = dict(con.execute("select Id, OwnerId from marts.sync_salesforce__leads").fetchall())
        alerts_hour0 = con.execute("select count(*) from ops.alerts").fetchall()[0][0]
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
    writes_before = query_sql(sandbox.db, "select max(seq) from _write_log")[0][0]

    second = pipeline.run_all(run_context.make_context("hour1", END + timedelta(hours=1)))
    assert second["crm_write_failures"] == 0
    # no Lead newly routed this hour: no new routed Task (a person's reassignment is not
    # one); a rep's Lead that crossed the SQL threshold gets one; the hour-0 Tasks stay as made
    # (the reassigned Lead's too: it leaves the payload, its Task stays the rep's business)
    hour1 = handoff_tasks(settings, sandbox)
    new = set(hour1["ledger"]) - set(tasks["ledger"])
    assert {hour1["payload"][key] for key in new} <= {"sql"}
    assert second["crm_tasks_created"] == len(new) and set(hour1["crm"].values()) == {1}
    assert set(hour1["crm"]) == set(hour1["ledger"]) >= set(hour1["payload"])
    assert {key.split(":")[1] for key in set(hour1["ledger"]) - set(hour1["payload"])} <= set(person_choice)
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
        alerts = con.execute("select count(*), count(distinct alert_id) from ops.alerts").fetchall()[0]
        # the second hour changes no owner: Leads keep the owner routing gave them
        moved = con.execute(
            "select count(*) from marts.lead_assignments where assigned_at = ? and owner_type = 'rep' "
            "and routing_rule <> 'reassigned_in_crm'",
            [END + timedelta(hours=1)],
        ).fetchall()[0][0]
    alertable = breached - second["sla_breaches_before_routing"]
    assert alertable > 0 and alerts == (alertable, alertable)
    assert second["sla_alerts_raised"] == alertable and second["sla_breaches"] == breached
    assert moved == 0

    again = pipeline.run_all(run_context.make_context("hour1_rerun", END + timedelta(hours=1)))
    assert again["crm_records_changed"] == 0
    assert again["crm_tasks_created"] == 0 and handoff_tasks(settings, sandbox)["crm"] == hour1["crm"]
    assert again["sla_alerts_raised"] == 0 and again["sla_breaches"] == breached
    # 5 minutes later the monitor sees the Tier 2 clocks due at 11:00 breach: new alerts, once
    monitor = monitor_once(run_context.make_context("monitor", END + timedelta(hours=1, minutes=5)))
    assert monitor["refresh_sla"]["refreshed"] and monitor["pull_open_sla_tasks"]["open_clocks"] > 0
    with warehouse.connect(settings.warehouse) as con:
        breached_now = con.execute(
            "select count(*) from marts.lead_sla where sla_status = 'breached'"
        ).fetchall()
        assert (
            con.execute("select count(*) from ops.alerts").fetchall()[0][0]
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
