"""Loading landing files and CRM extracts: every line loaded or quarantined, re-loads skip."""

from __future__ import annotations

import json

import pytest

from lead_scoring import warehouse
from lead_scoring.extract.salesforce import write_text_parquet
from lead_scoring.load.files import FileLayoutError, load_crm_text, load_map_file
from lead_scoring.load.raw import Batch


@pytest.fixture
def con(settings):
    with warehouse.connect(settings.warehouse) as connection:
        warehouse.ensure_schema(connection)
        yield connection


def quarantine(con) -> list[tuple]:
    return con.execute("select line, reason from ops.quarantine order by line").fetchall()


def test_marketo_csv_bad_lines_are_quarantined_and_good_rows_load(con, tmp_path):
    path = tmp_path / "marketo_activities_20261101.csv"
    path.write_text(
        "marketoGUID,leadId,activityDate,activityTypeId,primaryAttributeValue,attributes\n"
        'g1,101,2026-10-30T10:00:00Z,1,/pricing,"{""Webpage URL"": ""/pricing""}"\n'
        "g2,102,not-a-date,1,/blog,{}\n"
        "g3,103,2026-10-30T11:00:00Z,2\n"
        ",104,2026-10-30T12:00:00Z,10,Email,{}\n"
        "g5,abc,2026-10-30T12:00:00Z,10,Email,{}\n"
    )
    result = load_map_file(con, path, run_id="r1")
    assert (result.rows_read, result.rows_loaded, result.rows_quarantined) == (5, 1, 4)
    loaded = con.execute(
        "select marketoguid, leadid, activitydate from raw_map.marketo_activities"
    ).fetchall()
    assert [(g, lead) for g, lead, _ in loaded] == [("g1", 101)]
    reasons = [reason for _, reason in quarantine(con)]
    assert any("bad timestamp in activitydate: not-a-date" in r for r in reasons)
    assert any("malformed CSV line" in r for r in reasons)
    assert any("missing marketoguid" in r for r in reasons)
    assert any("bad bigint in leadid: abc" in r for r in reasons)
    ledger = con.execute(
        "select rows_read, rows_loaded, rows_quarantined, status from ops.batches"
    ).fetchall()
    assert ledger == [(5, 1, 4, "loaded")]


def test_reloading_the_same_file_changes_nothing(con, tmp_path):
    path = tmp_path / "events_20261101.jsonl"
    path.write_text(
        json.dumps(
            {
                "event_id": "e1",
                "occurred_at": "2026-10-30T10:00:00Z",
                "email": "A@x.com",
                "event_type": "page_view",
                "url": "/pricing",
                "properties": {"k": 1},
            }
        )
        + "\n"
    )
    first = load_map_file(con, path, run_id="r1")
    second = load_map_file(con, path, run_id="r2")
    assert not first.skipped and second.skipped
    assert con.execute("select count(*) from raw_map.events").fetchall() == [(1,)]
    assert con.execute("select count(*) from ops.batches").fetchall() == [(1,)]


def test_jsonl_garbage_lines_are_accounted_for(con, tmp_path):
    good = {
        "event_id": "e1",
        "occurred_at": "2026-10-30T10:00:00Z",
        "crm_id": "00Q000000000001AAA",
        "event_type": "demo_request",
        "url": None,
        "properties": {},
    }
    path = tmp_path / "events_1.jsonl"
    path.write_text(
        json.dumps(good) + "\n"
        "{not json\n"
        "\n"
        "[1, 2]\n"
        + json.dumps({**good, "event_id": "e2", "crm_id": None})
        + "\n"
        + json.dumps({**good, "event_id": "e3", "occurred_at": "yesterday"})
        + "\n"
    )
    result = load_map_file(con, path, run_id="r1")
    assert result.rows_read == 5  # the blank line is not a record
    assert result.rows_loaded == 1
    reasons = dict(quarantine(con))
    assert reasons[2] == "unparseable JSON line"
    assert reasons[4] == "JSON line is not an object"
    assert reasons[5] == "missing email and crm_id"
    assert reasons[6].startswith("bad timestamp in occurred_at")
    record = con.execute("select record from ops.quarantine where line = 2").fetchall()[0][0]
    assert record == "{not json"
    props = con.execute("select properties from raw_map.events").fetchall()[0][0]
    assert json.loads(props) == {}


def test_unknown_file_layout_is_rejected_once_with_a_reason(con, tmp_path):
    path = tmp_path / "something.csv"
    path.write_text("a,b\n1,2\n")
    first = load_map_file(con, path, run_id="r1")
    again = load_map_file(con, path, run_id="r2")
    assert first.rows_quarantined == 1 and again.skipped
    assert "unknown MAP file layout" in quarantine(con)[0][1]
    assert con.execute("select status from ops.batches").fetchall() == [("rejected",)]


def test_crm_extract_loads_typed_rows_and_advances_the_watermark(con, tmp_path):
    from datetime import datetime

    records = [
        {
            "Id": "00Q000000000001AAA",
            "Email": "a@b.com",
            "NumberOfEmployees": 250,
            "IsDeleted": False,
            "SystemModstamp": "2026-10-30T10:00:00.000+0000",
        },
        {
            "Id": "00Q000000000002AAA",
            "NumberOfEmployees": "many",
            "SystemModstamp": "2026-10-30T11:00:00.000+0000",
        },
        {"Id": None, "SystemModstamp": "2026-10-30T11:00:00.000+0000"},
    ]
    from lead_scoring import crm_schema

    path = tmp_path / "Lead.parquet"
    write_text_parquet(records, crm_schema.fields("Lead"), path)
    end = datetime(2026, 11, 1)
    batch = Batch(
        "salesforce:Lead:beginning:2026-11-01", "salesforce", "Lead", str(path), "r1", window_end=end
    )
    result = load_crm_text(con, "Lead", path, batch, watermark=True)
    assert (result.rows_loaded, result.rows_quarantined) == (1, 2)
    row = con.execute(
        "select id, numberofemployees, isdeleted, systemmodstamp from raw_salesforce.lead"
    ).fetchall()
    assert row == [("00Q000000000001AAA", 250, False, datetime(2026, 10, 30, 10))]
    assert con.execute("select object, watermark from ops.watermarks").fetchall() == [("Lead", end)]


def test_data_loader_csv_missing_required_column_fails_clearly(con, tmp_path):
    path = tmp_path / "Lead_export.csv"
    path.write_text("Email,Company\na@b.com,Acme\n")
    batch = Batch("files:Lead:x", "files", "Lead", str(path), "r1")
    with pytest.raises(FileLayoutError, match="required column"):
        load_crm_text(con, "Lead", path, batch, watermark=False)
    assert con.execute("select count(*) from ops.batches").fetchall() == [(0,)]
