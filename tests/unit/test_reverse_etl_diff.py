"""Reverse-ETL diff, payload allow-list, circuit breaker and dry run (no CRM needed)."""

from __future__ import annotations

import json
from datetime import datetime

import pytest

from lead_scoring import warehouse
from lead_scoring.reverse_etl.diff import PayloadError, diff_payload
from lead_scoring.reverse_etl.transport import BULK_NULL, bulk_csv, json_records
from lead_scoring.reverse_etl.writer import (
    CircuitBreakerOpen,
    check_circuit_breaker,
    payload_records,
    write_dry_run,
)


@pytest.fixture
def con(settings):
    with warehouse.connect(settings.warehouse) as connection:
        warehouse.ensure_schema(connection)
        connection.execute("create schema marts")
        connection.execute(
            "create table marts.sync_salesforce__leads as select * from (values "
            "('00Q1', 70.0, 'a; b', timestamp '2026-11-01 10:00:00'), "
            "('00Q2', 20.0, '', timestamp '2026-11-01 10:00:00')) "
            "as t(Id, Lead_Score__c, Score_Reasons__c, Scored_At__c)"
        )
        yield connection


def mark_synced(con, diff):
    for crm_id, payload_hash in zip(diff.changed["Id"], diff.changed["payload_hash"], strict=True):
        con.execute(
            "insert or replace into ops.crm_sync_state values ('Lead', ?, ?, ?, 'r')",
            [crm_id, payload_hash, datetime(2026, 11, 1)],
        )


def test_first_diff_sends_everything_then_nothing(con):
    first = diff_payload(con, "Lead")
    assert (first.total, first.changed_count) == (2, 2)
    mark_synced(con, first)
    assert diff_payload(con, "Lead").changed_count == 0


def test_scored_at_alone_is_not_a_change_but_a_score_is(con):
    mark_synced(con, diff_payload(con, "Lead"))
    con.execute("update marts.sync_salesforce__leads set Scored_At__c = timestamp '2026-11-01 11:00:00'")
    assert diff_payload(con, "Lead").changed_count == 0
    con.execute("update marts.sync_salesforce__leads set Lead_Score__c = 71 where Id = '00Q1'")
    changed = diff_payload(con, "Lead").changed
    assert list(changed["Id"]) == ["00Q1"]


def test_a_new_scoring_version_alone_is_not_a_change(con):
    """A seed edit re-labels every record's version; only the records whose score it moves
    are written (they carry the new version), and the breaker counts only them."""
    con.execute("alter table marts.sync_salesforce__leads add column Score_Model_Version__c varchar")
    con.execute("update marts.sync_salesforce__leads set Score_Model_Version__c = 'v1-old'")
    mark_synced(con, diff_payload(con, "Lead"))
    con.execute("update marts.sync_salesforce__leads set Score_Model_Version__c = 'v1-new'")
    assert diff_payload(con, "Lead").changed_count == 0
    con.execute("update marts.sync_salesforce__leads set Lead_Score__c = 75 where Id = '00Q1'")
    changed = diff_payload(con, "Lead").changed
    assert changed[["Id", "Score_Model_Version__c"]].values.tolist() == [["00Q1", "v1-new"]]
    with pytest.raises(
        CircuitBreakerOpen, match="1 of 2 Lead records .50%. would change under scoring version v1-new"
    ):
        check_circuit_breaker(diff_payload(con, "Lead"), synced_before=2, max_share=0.4, force=False)


def test_a_hash_recorded_with_the_version_still_counts_as_synced(con):
    """Hashes recorded before the version left the hash still match their unchanged rows."""
    from lead_scoring.reverse_etl import diff as diff_module

    con.execute("alter table marts.sync_salesforce__leads add column Score_Model_Version__c varchar")
    con.execute("update marts.sync_salesforce__leads set Score_Model_Version__c = 'v1-old'")
    unhashed = diff_module.UNHASHED_FIELDS
    diff_module.UNHASHED_FIELDS = unhashed - {"Score_Model_Version__c"}  # the old hash
    try:
        mark_synced(con, diff_payload(con, "Lead"))
    finally:
        diff_module.UNHASHED_FIELDS = unhashed
    assert diff_payload(con, "Lead").changed_count == 0
    con.execute("update marts.sync_salesforce__leads set Lead_Score__c = 75 where Id = '00Q1'")
    assert list(diff_payload(con, "Lead").changed["Id"]) == ["00Q1"]


def test_columns_outside_the_allow_list_are_refused(con):
    con.execute("alter table marts.sync_salesforce__leads add column Email varchar")
    with pytest.raises(PayloadError, match="Email"):
        diff_payload(con, "Lead")


def test_bulk_cells_use_salesforce_null_and_iso_datetimes(con):
    records = payload_records(diff_payload(con, "Lead").changed)
    assert records[0] == {
        "Id": "00Q1",
        "Lead_Score__c": "70",
        "Score_Reasons__c": "a; b",
        "Scored_At__c": "2026-11-01T10:00:00.000Z",
    }
    assert records[1]["Score_Reasons__c"] == BULK_NULL


def test_owner_id_is_sent_only_when_routing_changes_the_crm_owner(con):
    """``_crm_owner_id`` (the CRM's owner as extracted) is context: never sent nor hashed.
    OwnerId goes out only where routing's owner differs from it; elsewhere a JSON record
    leaves it out and a Bulk cell is empty (Salesforce: the field is left as it is)."""
    con.execute("alter table marts.sync_salesforce__leads add column OwnerId varchar")
    con.execute("alter table marts.sync_salesforce__leads add column _crm_owner_id varchar")
    con.execute("update marts.sync_salesforce__leads set OwnerId = '005R', _crm_owner_id = '005R'")
    con.execute("update marts.sync_salesforce__leads set _crm_owner_id = '00GQ' where Id = '00Q2'")
    changed = diff_payload(con, "Lead").changed
    assert [sorted(r) for r in json_records(changed)] == [
        ["Id", "Lead_Score__c", "Score_Reasons__c", "Scored_At__c"],
        ["Id", "Lead_Score__c", "OwnerId", "Score_Reasons__c", "Scored_At__c"],
    ]
    assert bulk_csv(changed).splitlines()[0] == "Id,Lead_Score__c,Score_Reasons__c,Scored_At__c,OwnerId"
    assert [line.split(",")[-1] for line in bulk_csv(changed).splitlines()[1:]] == ["", "005R"]
    assert payload_records(changed)[0]["OwnerId"] == "" and "_crm_owner_id" not in payload_records(changed)[0]
    # the CRM's owner moving (the write landed, or a person moved it) changes no hash
    mark_synced(con, diff_payload(con, "Lead"))
    con.execute("update marts.sync_salesforce__leads set _crm_owner_id = '005P'")
    assert diff_payload(con, "Lead").changed_count == 0


def test_a_contact_payload_with_an_owner_is_refused(con):
    """Contacts stay with their account's owner: the allow-list refuses a Contact OwnerId."""
    con.execute("create table marts.sync_salesforce__contacts as select '003A' as Id, '005R' as OwnerId")
    with pytest.raises(PayloadError, match="OwnerId"):
        diff_payload(con, "Contact")


def test_circuit_breaker(con):
    diff = diff_payload(con, "Lead")
    check_circuit_breaker(diff, synced_before=0, max_share=0.1, force=False)  # first sync is exempt
    with pytest.raises(CircuitBreakerOpen, match="LEADSCORE_FORCE_SYNC"):
        check_circuit_breaker(diff, synced_before=2, max_share=0.5 - 0.01, force=False)
    check_circuit_breaker(diff, synced_before=2, max_share=0.1, force=True)
    with pytest.raises(CircuitBreakerOpen, match="12 hours before this run's as_of: scores decay") as hour:
        check_circuit_breaker(diff, synced_before=2, max_share=0.1, force=False, gap_hours=12)
    with pytest.raises(CircuitBreakerOpen) as hour:
        check_circuit_breaker(diff, synced_before=2, max_share=0.1, force=False, gap_hours=1)
    assert "hours before" not in str(hour.value)  # an hourly run: time is no excuse


def test_dry_run_writes_payload_and_summary_only(con, tmp_path):
    result = write_dry_run(diff_payload(con, "Lead"), tmp_path / "dry")
    assert result.dry_run and result.written == 0 and result.changed == 2
    assert (tmp_path / "dry" / "Lead_payload.csv").read_text().splitlines()[0] == (
        "Id,Lead_Score__c,Score_Reasons__c,Scored_At__c"
    )
    assert json.loads((tmp_path / "dry" / "Lead_diff.json").read_text())["changed"] == 2
    assert con.execute("select count(*) from ops.crm_sync_state").fetchall() == [(0,)]


def test_a_task_is_pending_until_confirmed_once_then_never_again(con):
    """Handoff Tasks are keyed by their External ID, not Id; a row is sent until the CRM
    confirmed it once, and a confirmed one is not a change whatever it becomes (a rep owns the
    Task). Its due date goes as the CRM's YYYY-MM-DD, and Id is not a writable Task column."""
    con.execute(
        "create table marts.sync_salesforce__tasks as select * from (values "
        "('handoff:00Q1:005A:1', '00Q1', '005A', 'a', date '2026-11-01', 'handoff'), "
        "('handoff:00Q2:005A:1', '00Q2', '005A', 'b', date '2026-11-02', 'handoff')) "
        "as t(Leadscore_Action_Id__c, WhoId, OwnerId, Description, ActivityDate, _action_kind)"
    )
    first = diff_payload(con, "Task")
    assert first.key == "Leadscore_Action_Id__c" and first.changed_count == 2
    assert json_records(first.changed)[0] == {
        "Leadscore_Action_Id__c": "handoff:00Q1:005A:1",
        "WhoId": "00Q1",
        "OwnerId": "005A",
        "Description": "a",
        "ActivityDate": "2026-11-01",
    }
    con.execute(
        "insert into ops.crm_sync_state values ('Task', 'handoff:00Q1:005A:1', 'old hash', ?, 'r')",
        [datetime(2026, 11, 1)],
    )
    con.execute("update marts.sync_salesforce__tasks set Description = 'rescored'")
    assert list(diff_payload(con, "Task").changed["Leadscore_Action_Id__c"]) == ["handoff:00Q2:005A:1"]

    con.execute("alter table marts.sync_salesforce__tasks add column Id varchar")
    with pytest.raises(PayloadError, match="Id that are not writable Task fields"):
        diff_payload(con, "Task")


def test_the_fast_lane_waits_for_the_hours_run_but_not_for_ever(tmp_path):
    """In the first minutes of an hour whose hourly run has not written back yet, a fast-lane
    minute waits (built before the hour, it would make the hour a backdated run); after the
    grace, or before any hourly write-back at all, it runs."""
    from datetime import datetime

    from lead_scoring import warehouse
    from lead_scoring.fast_lane import hourly_run_pending

    with warehouse.connect(tmp_path / "w.duckdb") as con:
        warehouse.ensure_schema(con)
        assert hourly_run_pending(con, datetime(2026, 11, 1, 11, 1), 15) is None  # no hour yet
        con.execute(
            "insert into ops.write_back_instants (as_of, run_id, finished_at, lane) values "
            "('2026-11-01 10:00', 'h10', '2026-11-01 10:03', 'hourly'), "
            "('2026-11-01 10:59', 'f1059', '2026-11-01 10:59', 'fast')"
        )
        assert hourly_run_pending(con, datetime(2026, 11, 1, 10, 30), 15) is None  # 10:00 written
        waiting = hourly_run_pending(con, datetime(2026, 11, 1, 11, 1), 15)
        assert waiting is not None and "hourly run of 2026-11-01 11:00" in waiting
        assert hourly_run_pending(con, datetime(2026, 11, 1, 11, 15), 15) is None  # past the grace
        con.execute(
            "insert into ops.write_back_instants (as_of, run_id, lane) "
            "values ('2026-11-01 11:00', 'h11', 'hourly')"
        )
        assert hourly_run_pending(con, datetime(2026, 11, 1, 11, 1), 15) is None
