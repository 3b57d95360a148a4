"""Nurture CampaignMembers against the real CRM sandbox (simple-salesforce over HTTPS): the
Campaign is found by name (and its absence said clearly), each member is created once by an
upsert on its idempotency key and deleted by its Id when the person leaves, under
429/5xx/timeout/row faults over three runs; the CRM never holds a member twice; the ledger
(ops.crm_actions) is the CRM; the MAP list files carry each change once, and a re-run of the
hour writes the same files and sends nothing.

The dbt payload models are stubbed (tests/e2e/test_write_back.py); the real model has a dbt
unit test (models/marts/sync/_sync__models.yml) and runs in ``make demo``."""

from __future__ import annotations

from collections import Counter
from datetime import timedelta

import requests

from crm_sandbox.store import query_sql
from lead_scoring import warehouse
from lead_scoring.pipeline import write_back_crm
from lead_scoring.reverse_etl.diff import ACTION_MODELS
from lead_scoring.run_context import make_context
from tests.e2e.test_write_back import (  # noqa: F401 - env: fixture
    AS_OF,
    env,
    record_id_sql,
    set_member_payload,
    set_payloads,
)

KEY = "Leadscore_Action_Id__c"
FAULTS = "429:0.1,500:0.05,timeout:0.05,row_error:0.02"


def create_campaign(sandbox, name: str) -> str:
    """A marketer's Campaign, made through the sandbox's REST API."""
    r = requests.post(
        f"{sandbox.info.url}/services/data/v59.0/sobjects/Campaign/",
        json={"Name": name, "Type": "Email", "IsActive": True},
        verify=str(sandbox.info.cert),
        headers={"Authorization": f"Bearer {sandbox.info.token}"},
        timeout=30,
    )
    assert r.status_code == 201, r.text
    return r.json()["id"]


def live_members(sandbox) -> Counter:
    """(CampaignId, LeadId, key) -> how many live CampaignMembers the CRM holds with them."""
    sql = f"select CampaignId, LeadId, {KEY} from CampaignMember where IsDeleted = 0"
    return Counter(query_sql(sandbox.info.db, sql))


def ledger(settings, kind: str) -> dict[str, tuple]:
    """ops.crm_actions rows of CampaignMember ``kind``: action_id -> (member Id, Lead, map_file)."""
    with warehouse.connect(settings.warehouse) as con:
        rows = con.execute(
            "select action_id, task_id, crm_id, map_file from ops.crm_actions "
            "where object = 'CampaignMember' and kind = ?",
            [kind],
        ).fetchall()
    return {r[0]: r[1:] for r in rows}


def desired(settings) -> set[str]:
    with warehouse.connect(settings.warehouse) as con:
        return {r[0] for r in con.execute(f"select {KEY} from {ACTION_MODELS['CampaignMember']}").fetchall()}


def lead_id(i: int) -> str:
    return f"00Q{i:012d}AAA"


def list_file(settings, run_id: str, action: str) -> list[str]:
    (path,) = (settings.runs_dir / run_id / "map_lists").glob(f"nurture_nurture_t3_*.{action}.csv")
    return path.read_text().splitlines()


def test_nurture_members_once_under_faults_removed_on_leaving_and_listed_for_the_map(env):  # noqa: F811
    settings, sandbox, monkeypatch = env
    monkeypatch.setenv("LEADSCORE_SF_TIMEOUT_S", "1")
    monkeypatch.setenv("LEADSCORE_SF_SETTLE_S", "2")
    set_payloads(settings, {"CampaignMember": 300})

    # no Campaign of that name in the CRM: said clearly, nothing created, all still pending
    missing = write_back_crm(make_context("no_campaign", AS_OF))
    assert "no Campaign named 'Nurture T3'" in missing["nurture_stopped"]
    assert "nurture_campaigns.csv" in missing["nurture_stopped"]
    assert missing["crm_campaign_members_created"] == 0 and not live_members(sandbox)
    campaign = create_campaign(sandbox, "Nurture T3")
    set_payloads(settings, {"Lead": 600, "CampaignMember": 300})  # (scores sent beside the members)

    # hour 1, three runs under every fault: no member twice, the ledger is the CRM
    sandbox.faults(FAULTS, seed=1)
    runs = [write_back_crm(make_context(f"h1_{i}", AS_OF)) for i in range(3)]
    injected = Counter(sandbox.injected())
    sandbox.faults("", seed=1)
    runs.append(write_back_crm(make_context("h1_clean", AS_OF)))
    assert sum(r["crm_campaign_member_failures"] for r in runs) > 0  # refused rows were retried
    members = live_members(sandbox)
    assert set(members.values()) == {1}
    assert {key for _, _, key in members} == desired(settings)  # exactly the payload
    assert {c for c, _, _ in members} == {campaign}
    created = ledger(settings, "nurture")
    assert set(created) == desired(settings) and sum(r["crm_campaign_members_created"] for r in runs) == 300
    crm_ids = dict(query_sql(sandbox.info.db, f"select {KEY}, Id from CampaignMember where IsDeleted = 0"))
    assert {key: row[0] for key, row in created.items()} == crm_ids  # the Id to delete by

    # a duplicate create is refused the way Salesforce does
    sf_dup = requests.post(
        f"{sandbox.info.url}/services/data/v59.0/sobjects/CampaignMember/",
        json={"CampaignId": campaign, "LeadId": lead_id(1), "Status": "Sent"},
        verify=str(sandbox.info.cert),
        headers={"Authorization": f"Bearer {sandbox.info.token}"},
        timeout=30,
    )
    assert sf_dup.status_code == 400 and sf_dup.json()[0]["errorCode"] == "DUPLICATE_VALUE"

    # hour 2: Leads 1-100 left Tier 3 (to Tier 2), 301-380 entered, and 1-20 came back after
    # leaving (new keys): their old member must be deleted before the new one is made
    later = AS_OF + timedelta(hours=1)
    set_member_payload(settings, range(101, 381))
    with warehouse.connect(settings.warehouse) as con:
        con.execute(
            f"""insert into {ACTION_MODELS["CampaignMember"]}
            select 'nurture:Nurture T3:' || {record_id_sql("Lead")} || ':1793530800', {record_id_sql("Lead")},
                null, 'Nurturing', 'Nurture T3', 'nurture', 3, timestamp '2026-11-01 11:00:00'
            from range(1, 21) t(i)"""
        )
    # a dry run shows the members it would delete and create, and calls nothing
    sandbox.reset_stats()
    monkeypatch.setenv("LEADSCORE_DRY_RUN", "true")
    write_back_crm(make_context("h2_dry", later))
    monkeypatch.delenv("LEADSCORE_DRY_RUN")
    dry = settings.runs_dir / "h2_dry" / "dry_run"
    would_delete = (dry / "CampaignMember_removals_payload.csv").read_text().splitlines()
    assert len(would_delete) == 101 and would_delete[0].startswith(f"{KEY},Id,LeadId")
    assert len((dry / "CampaignMember_payload.csv").read_text().splitlines()) == 101  # 80 new, 20 back
    assert not {k for k in sandbox.stats() if k.startswith(("collections", "bulk", "query"))}

    sandbox.faults(FAULTS, seed=2)
    runs = [write_back_crm(make_context(f"h2_{i}", later)) for i in range(3)]
    injected.update(sandbox.injected())
    sandbox.faults("", seed=2)
    runs.append(write_back_crm(make_context("h2_clean", later)))
    assert {"429", "500", "timeout", "row_error"} <= set(injected), injected  # the faults happened
    members = live_members(sandbox)
    assert set(members.values()) == {1}
    assert {key for _, _, key in members} == desired(settings)
    assert len({lead for _, lead, _ in members}) == len(members) == 300  # one per person
    removed = ledger(settings, "nurture_removal")
    assert len(removed) == 100 and sum(r["crm_campaign_members_removed"] for r in runs) == 100
    gone = {key.removesuffix(":removed") for key in removed}
    assert {created[key][0] for key in gone} == {row[0] for row in removed.values()}
    deleted = {r[0] for r in query_sql(sandbox.info.db, "select Id from CampaignMember where IsDeleted = 1")}
    assert deleted == {row[0] for row in removed.values()}

    # the MAP side: the hour's adds and removes, each change in one hour's files only
    # (every run of an hour writes that hour's files: the last has all of its changes)
    assert set(list_file(settings, "h1_clean", "add")[1:]) == {f"lead{i}@example.com" for i in range(1, 301)}
    assert list_file(settings, "h2_clean", "remove")[0] == "email"
    removes = set(list_file(settings, "h2_clean", "remove")[1:])
    assert removes == {f"lead{i}@example.com" for i in range(1, 101)}
    assert set(list_file(settings, "h2_clean", "add")[1:]) == {
        f"lead{i}@example.com" for i in [*range(1, 21), *range(301, 381)]
    }

    # a re-run of the hour: nothing sent, the same files
    sandbox.reset_stats()
    again = write_back_crm(make_context("h2_rerun", later))
    assert again["crm_campaign_members_created"] == again["crm_campaign_members_removed"] == 0
    assert not {k for k in sandbox.stats() if k.startswith(("collections", "bulk"))}
    for action in ("add", "remove"):
        assert list_file(settings, "h2_rerun", action) == list_file(settings, "h2_clean", action)
    assert live_members(sandbox) == members
