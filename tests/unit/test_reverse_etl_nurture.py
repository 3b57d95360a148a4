"""The nurture pieces of the write-back without a CRM: finding Campaigns by name, reading a
delete's answer, and the MAP list files (each change once, the same files on a re-run)."""

from __future__ import annotations

from datetime import datetime

import duckdb
import pandas as pd

from lead_scoring import warehouse
from lead_scoring.reverse_etl import nurture
from lead_scoring.reverse_etl.diff import PayloadDiff


class FakeCRM:
    """``query_all`` answering with the Campaigns given; records the SOQL it was sent."""

    def __init__(self, campaigns: list[tuple[str, str]]):
        self.campaigns = campaigns
        self.soql: list[str] = []

    def query_all(self, soql: str) -> dict:
        self.soql.append(soql)
        return {"records": [{"Id": i, "Name": n} for i, n in self.campaigns if f"'{n}'" in soql]}


def test_campaigns_are_found_by_name_and_a_missing_or_ambiguous_one_is_named():
    crm = FakeCRM([("701A", "Nurture T3"), ("701B", "Twice"), ("701C", "Twice")])
    ids, problems = nurture.campaign_ids(crm, ["Gone", "Nurture T3", "Twice"])
    assert ids == {"Nurture T3": "701A"}
    assert len(problems) == 2
    assert "no Campaign named 'Gone'" in problems[0] and "nurture_campaigns.csv" in problems[0]
    assert "2 Campaigns are named 'Twice' (701B, 701C)" in problems[1]
    assert len(crm.soql) == 1  # one query for every name


def test_only_the_rows_of_found_campaigns_are_sent_with_their_campaign_id():
    changed = pd.DataFrame(
        {
            "Leadscore_Action_Id__c": ["k1", "k2"],
            "LeadId": ["00Q1", "00Q2"],
            "_campaign_name": ["Nurture T3", "Gone"],
            "payload_hash": ["h1", "h2"],
        }
    )
    ready, problems = nurture.with_campaign_ids(
        FakeCRM([("701A", "Nurture T3")]), PayloadDiff("CampaignMember", 2, changed)
    )
    assert ready.changed[["Leadscore_Action_Id__c", "CampaignId"]].values.tolist() == [["k1", "701A"]]
    assert len(problems) == 1 and "'Gone'" in problems[0]


def test_a_member_already_gone_counts_as_removed_and_other_refusals_fail():
    gone = nurture._delete_outcome(
        "k:removed", "00v1", {"success": False, "errors": [{"statusCode": "ENTITY_IS_DELETED"}]}
    )
    assert (gone.status, gone.operation, gone.record_id) == ("success", "gone", "00v1")
    refused = nurture._delete_outcome(
        "k:removed",
        "00v2",
        {"success": False, "errors": [{"statusCode": "UNABLE_TO_LOCK_ROW", "message": "busy"}]},
    )
    assert (refused.status, refused.error) == ("failed", "UNABLE_TO_LOCK_ROW: busy")
    deleted = nurture._delete_outcome("k:removed", "00v3", {"success": True, "errors": []})
    assert (deleted.status, deleted.operation) == ("success", "delete")


def _ledger_row(con, action_id: str, kind: str, person: str) -> None:
    con.execute(
        "insert into ops.crm_actions (action_id, object, kind, crm_id, task_id, campaign_name, created_at) "
        "values (?, 'CampaignMember', ?, ?, ?, 'Nurture T3', ?)",
        [action_id, kind, person, f"00v{person}", datetime(2026, 11, 1, 10)],
    )


def test_list_files_carry_each_change_once_and_a_rerun_writes_the_same(tmp_path):
    con = duckdb.connect()
    warehouse.ensure_schema(con)
    con.execute("create schema marts")
    con.execute(
        "create table marts.lead_scores as select * from (values ('00Q1', 'A@x.com'), ('00Q2', 'b@x.com'), "
        "('003C', 'a@x.com')) t(crm_id, email)"
    )
    hour1, hour2 = datetime(2026, 11, 1, 10), datetime(2026, 11, 1, 11)
    _ledger_row(con, "k1", "nurture", "00Q1")
    _ledger_row(con, "k2", "nurture", "00Q2")
    _ledger_row(con, "k3", "nurture", "003C")  # another record with the same address
    first = nurture.write_list_files(con, tmp_path / "run1", hour1)
    assert (first.adds, first.removes, first.without_email) == (2, 0, 0)
    (add,) = first.paths
    assert add.name == "nurture_nurture_t3_20261101T1000.add.csv"
    assert add.read_text() == "email\na@x.com\nb@x.com\n"

    rerun = nurture.write_list_files(con, tmp_path / "rerun", hour1)  # the same hour again
    assert [p.read_text() for p in rerun.paths] == [add.read_text()]

    _ledger_row(con, "k1:removed", "nurture_removal", "00Q1")
    _ledger_row(con, "k9:removed", "nurture_removal", "00Q9")  # erased: no address any more
    second = nurture.write_list_files(con, tmp_path / "run2", hour2)
    assert (second.adds, second.removes, second.without_email) == (0, 1, 1)
    assert [p.name for p in second.paths] == ["nurture_nurture_t3_20261101T1100.remove.csv"]
    assert second.paths[0].read_text() == "email\na@x.com\n"
    assert (
        nurture.write_list_files(con, tmp_path / "run1_again", hour1).paths[0].read_text() == add.read_text()
    )
