"""Routing properties on generated worlds, run through the real dbt models on DuckDB.

The routing models read three intermediate tables (people with their territory, segment,
owner; the owners' unanswered attempts; reps with their availability); these tests write those
tables from a seeded random
generator, hour after hour, run ``lead_assignments``, ``lead_routing`` and ``lead_sla`` with
dbt as of each hour, and check what must hold for every input:

* no new assignment goes to a rep who is inactive, out of office or unroutable, and no rep
  who received Leads ends above capacity;
* Tier 3/4, opted-out and Do Not Call people, and Leads recycled after max_attempts, never end
  with a rep; every Lead has a rule and a reason;
* a re-run of the same hour changes nothing (ledger and routing identical);
* weighted round-robin shares converge to the weights, continuing across runs;
* a breach raises one alert, however many runs see it.
"""

from __future__ import annotations

import random
from datetime import datetime, timedelta

import pandas as pd
import pytest

from lead_scoring import warehouse
from lead_scoring.dbt_runner import run_dbt

START = datetime(2026, 11, 2, 9, 0, 0)
TEAMS = {"Sales - NA": ["NA East", "NA West"], "Sales - EMEA": ["EMEA"]}
LANGUAGES = {"NA East": ["en"], "NA West": ["en", "es"], "EMEA": ["en", "de", "fr"]}
SEGMENTS = ["smb", "mid_market", "enterprise", "unknown"]
MODELS = (
    "int_leads_previously_routed int_routing_pools_counted int_leads_fixed_rules_applied "
    "int_reps_capacity_evaluated int_leads_routed_to_account_owners int_leads_routed_by_territory "
    "int_leads_routed_by_team int_leads_routing_decided stg_salesforce__tasks lead_assignments lead_routing "
    "lead_sla"
)

LEAD_COLUMNS = {
    "crm_id": "varchar",
    "crm_owner_id": "varchar",
    "matched_account_id": "varchar",
    "account_owner_id": "varchar",
    "matched_account_name": "varchar",
    "matched_by": "varchar",
    "matched_domain": "varchar",
    "country": "varchar",
    "state": "varchar",
    "industry": "varchar",
    "territory": "varchar",
    "team": "varchar",
    "language": "varchar",
    "segment": "varchar",
    "tier": "integer",
    "composite_score": "double",
    "number_of_employees": "integer",
    "has_opted_out_of_email": "boolean",
    "is_do_not_call": "boolean",
    "is_worked_by_owner": "boolean",
    "owner_first_task_at": "timestamp",
    "created_at": "timestamp",
}
ATTEMPT_COLUMNS = {
    "crm_id": "varchar",
    "attempt_owner_id": "varchar",
    "tier": "integer",
    "max_attempts": "integer",
    "unanswered_attempts": "integer",
    "is_recycled": "boolean",
    "first_unanswered_attempt_at": "timestamp",
    "last_attempt_at": "timestamp",
    "last_response_at": "timestamp",
}
REP_COLUMNS = {
    "rep_id": "varchar",
    "manager_id": "varchar",
    "business_hours_id": "varchar",
    "rep_name": "varchar",
    "team": "varchar",
    "territories": "varchar",
    "segments": "varchar",
    "industries": "varchar",
    "languages": "varchar",
    "out_of_office_reason": "varchar",
    "capacity_open_leads": "integer",
    "round_robin_weight": "double",
    "is_routable": "boolean",
    "is_active_in_crm": "boolean",
    "is_out_of_office": "boolean",
    "is_available": "boolean",
    "out_of_office_until": "timestamp",
}


def write_table(con, name: str, columns: dict[str, str], rows: list[dict]) -> None:
    frame = pd.DataFrame([{c: r.get(c) for c in columns} for r in rows], columns=list(columns))
    con.register("frame", frame)
    casts = ", ".join(f'cast("{c}" as {t}) as "{c}"' for c, t in columns.items())
    con.execute(f"create or replace table intermediate.{name} as select {casts} from frame")
    con.unregister("frame")


def make_reps(rng: random.Random, count: int) -> list[dict]:
    reps = []
    for i in range(count):
        team = rng.choice(list(TEAMS))
        territories = rng.sample(TEAMS[team], rng.randint(1, len(TEAMS[team])))
        languages = sorted({"en", *rng.sample(sum((LANGUAGES[t] for t in territories), []), 1)})
        reps.append(
            {
                "rep_id": f"005{i:012d}AAA",
                "rep_name": f"Rep {i}",
                "manager_id": "005999999999999AAA",
                "team": team,
                "territories": ";".join(territories),
                "segments": ";".join(rng.sample(SEGMENTS, rng.randint(1, 4))),
                "industries": "*",
                "languages": ";".join(languages),
                "capacity_open_leads": rng.randint(5, 40),
                "round_robin_weight": rng.choice([0.5, 1.0, 2.0, 3.0]),
                "is_routable": rng.random() > 0.05,
                "is_active_in_crm": rng.random() > 0.15,
            }
        )
    return reps


def availability(rng: random.Random, reps: list[dict]) -> list[dict]:
    """This hour's rep table: some reps out of office (changes every hour)."""
    hour = []
    for rep in reps:
        away = rng.random() < 0.2
        hour.append(
            {
                **rep,
                "is_out_of_office": away,
                "is_available": rep["is_routable"] and rep["is_active_in_crm"] and not away,
            }
        )
    return hour


def make_leads(rng: random.Random, reps: list[dict], start: int, count: int, created: datetime) -> list[dict]:
    leads = []
    for i in range(start, start + count):
        team = rng.choice(list(TEAMS))
        territory = rng.choice(TEAMS[team])
        owner = rng.choice(reps)["rep_id"] if rng.random() < 0.5 else None
        leads.append(
            {
                "crm_id": f"00Q{i:012d}AAA",
                "crm_owner_id": owner,
                "account_owner_id": rng.choice(reps)["rep_id"] if rng.random() < 0.3 else None,
                "matched_by": "email domain",
                "matched_domain": f"d{i}.com",
                "matched_account_name": f"Account {i}",
                "territory": territory,
                "team": team,
                "language": rng.choice(LANGUAGES[territory]),
                "segment": rng.choice(SEGMENTS),
                "tier": rng.choices([1, 2, 3, 4], [2, 5, 2, 1])[0],
                "composite_score": round(rng.uniform(0, 100), 1),
                "has_opted_out_of_email": rng.random() < 0.04,
                "is_do_not_call": rng.random() < 0.03,
                "is_worked_by_owner": owner is not None and rng.random() < 0.3,
                "owner_first_task_at": created - timedelta(days=1) if owner else None,
                "created_at": created,
                # one owned Lead in 13 got max_attempts owner Tasks without a response
                "is_recycled": owner is not None and i % 13 == 5,
            }
        )
    return leads


def attempts(leads: list[dict]) -> list[dict]:
    """int_leads_attempts_counted for ``leads``: their Tier 1-2 ones, recycled as drawn."""
    return [
        {
            "crm_id": lead["crm_id"],
            "attempt_owner_id": lead.get("crm_owner_id"),
            "tier": lead["tier"],
            "max_attempts": 6,
            "unanswered_attempts": 7 if lead.get("is_recycled") else 0,
            "is_recycled": bool(lead.get("is_recycled")),
            "first_unanswered_attempt_at": lead["created_at"] - timedelta(days=8)
            if lead.get("is_recycled")
            else None,
        }
        for lead in leads
        if lead["tier"] in (1, 2)
    ]


@pytest.fixture
def routing_world(tmp_path, monkeypatch):
    from lead_scoring.config import load_settings

    monkeypatch.setenv("LEADSCORE_WAREHOUSE", str(tmp_path / "routing.duckdb"))
    settings = load_settings()
    with warehouse.connect(settings.warehouse) as con:
        warehouse.ensure_schema(con)
        con.execute("create schema if not exists intermediate")
    run_dbt(settings, ["seed", "--select", "routing_queues sla_policies business_hours"], START)
    return settings


def run_hour(settings, hour: datetime, leads: list[dict], reps: list[dict]) -> None:
    with warehouse.connect(settings.warehouse) as con:
        write_table(con, "int_leads_mapped_to_territories", LEAD_COLUMNS, leads)
        write_table(con, "int_leads_attempts_counted", ATTEMPT_COLUMNS, attempts(leads))
        write_table(con, "int_reps_availability_evaluated", REP_COLUMNS, reps)
    run_dbt(settings, ["run", "--select", MODELS], hour)


def snapshot(settings, hour: datetime) -> tuple[list, list]:
    with warehouse.connect(settings.warehouse) as con:
        ledger = con.execute("select * from marts.lead_assignments order by crm_id, assigned_at").fetchall()
        routing = con.execute(
            "select crm_id, owner_id, routing_rule, routing_reason, assigned_at "
            "from marts.lead_routing order by 1"
        ).fetchall()
    return ledger, routing


@pytest.mark.parametrize("seed", [1, 2])
def test_routing_never_breaks_availability_or_capacity_and_reruns_change_nothing(routing_world, seed):
    settings = routing_world
    rng = random.Random(seed)
    reps = make_reps(rng, 14)
    leads: list[dict] = []
    for step in range(3):
        hour = START + timedelta(hours=step)
        leads += make_leads(rng, reps, len(leads), 90, hour)
        hour_reps = availability(rng, reps)
        run_hour(settings, hour, leads, hour_reps)
        first = snapshot(settings, hour)
        run_hour(settings, hour, leads, hour_reps)  # a re-run of the same hour
        assert snapshot(settings, hour) == first, "re-running an hour changed the routing"

        by_id = {r["rep_id"]: r for r in hour_reps}
        people = {lead["crm_id"]: lead for lead in leads}
        with warehouse.connect(settings.warehouse) as con:
            new = con.execute(
                "select crm_id, owner_id, routing_rule from marts.lead_assignments "
                "where owner_type = 'rep' and assigned_at = ? and routing_rule <> 'working_owner'",
                [hour],
            ).fetchall()
            routing = con.execute(
                "select crm_id, owner_id, owner_type, routing_rule, routing_reason from marts.lead_routing"
            ).fetchall()
        assert len(routing) == len(leads)
        for crm_id, owner_id, rule in new:
            rep = by_id[owner_id]
            assert rep["is_available"], f"{crm_id} went to unavailable rep {owner_id} by {rule}"
        receiving = {owner_id for _, owner_id, _ in new}
        load: dict[str, int] = {}
        for crm_id, owner_id, owner_type, rule, reason in routing:
            assert rule and reason, crm_id
            person = people[crm_id]
            if person["has_opted_out_of_email"] or person["is_do_not_call"] or person["tier"] >= 3:
                assert owner_type == "queue", (crm_id, rule)
            if person["is_recycled"] and person["tier"] <= 2:  # recycled after max_attempts
                assert owner_type == "queue" and rule in ("opted_out_queue", "recycled_after_attempts"), (
                    crm_id,
                    rule,
                )
            if owner_type == "rep":
                load[owner_id] = load.get(owner_id, 0) + 1
        for rep_id in receiving:
            assert load[rep_id] <= by_id[rep_id]["capacity_open_leads"], rep_id


def test_round_robin_shares_converge_to_the_weights_across_runs(routing_world):
    settings = routing_world
    weights = {"005000000000001AAA": 1.0, "005000000000002AAA": 2.0, "005000000000003AAA": 3.0}
    reps = [
        {
            "rep_id": rep_id,
            "rep_name": f"Rep {rep_id[-5]}",
            "team": "Sales - NA",
            "territories": "NA East",
            "segments": "*",
            "industries": "*",
            "languages": "en",
            "capacity_open_leads": 10_000,
            "round_robin_weight": weight,
            "is_routable": True,
            "is_active_in_crm": True,
            "is_out_of_office": False,
            "is_available": True,
        }
        for rep_id, weight in weights.items()
    ]
    leads: list[dict] = []
    total_weight = sum(weights.values())
    for step in range(4):
        hour = START + timedelta(hours=step)
        leads += [
            {
                "crm_id": f"00Q{len(leads) + i:012d}AAA",
                "territory": "NA East",
                "team": "Sales - NA",
                "language": "en",
                "segment": "smb",
                "tier": 2,
                "composite_score": float(i % 17),
                "has_opted_out_of_email": False,
                "is_do_not_call": False,
                "is_worked_by_owner": False,
                "created_at": hour,
            }
            for i in range(47)
        ]
        run_hour(settings, hour, leads, reps)
        with warehouse.connect(settings.warehouse) as con:
            counts = dict(
                con.execute(
                    "select owner_id, count(*) from marts.lead_assignments "
                    "where routing_rule = 'territory_match' group by owner_id"
                ).fetchall()
            )
        assigned = sum(counts.values())
        assert assigned == len(leads)
        for rep_id, weight in weights.items():
            # every run continues where the last stopped: within one Lead of the exact share
            assert abs(counts.get(rep_id, 0) - assigned * weight / total_weight) <= 1, (step, counts)
    for rep_id, weight in weights.items():
        assert abs(counts[rep_id] / assigned - weight / total_weight) < 0.01


def test_a_breach_alerts_once_across_runs(routing_world):
    from lead_scoring import alerts

    settings = routing_world
    rng = random.Random(5)
    reps = make_reps(rng, 10)
    for rep in reps:
        rep.update(is_routable=True, is_active_in_crm=True, is_out_of_office=False, is_available=True)
    leads = make_leads(rng, reps, 0, 60, START)
    raised = []
    for step, minutes in enumerate([0, 60, 60, 120]):  # the 60-minute run twice (a re-run)
        hour = START + timedelta(minutes=minutes)
        run_hour(settings, hour, leads, reps)
        with warehouse.connect(settings.warehouse) as con:
            result = alerts.raise_new_breaches(con, f"run{step}", hour, notifiers={})
            breached = con.execute(
                "select count(*) from marts.lead_sla where sla_status = 'breached'"
            ).fetchall()
            total = con.execute("select count(*), count(distinct crm_id) from ops.alerts").fetchall()[0]
        raised.append(result.raised)
        assert total[0] == total[1] == breached[0][0], (step, total, breached)
    assert raised[0] == 0 and raised[1] > 0 and raised[2] == 0 and raised[3] > 0
