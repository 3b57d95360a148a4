"""Loading landing files and CRM extracts: every line loaded or quarantined, re-loads skip."""

from __future__ import annotations

import json
from datetime import datetime

import pytest
from hypothesis import HealthCheck, example, given, settings
from hypothesis import strategies as st

from lead_scoring import warehouse
from lead_scoring.extract.salesforce import write_text_parquet
from lead_scoring.load.files import FileLayoutError, load_crm_text, load_map_file
from lead_scoring.load.raw import Batch

AS_OF = datetime(2026, 11, 1)


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
    result = load_map_file(con, path, run_id="r1", as_of=AS_OF)
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
    first = load_map_file(con, path, run_id="r1", as_of=AS_OF)
    second = load_map_file(con, path, run_id="r2", as_of=AS_OF)
    assert not first.skipped and second.skipped
    assert con.execute("select count(*) from raw_map.events").fetchall() == [(1,)]
    assert con.execute("select count(*) from ops.batches").fetchall() == [(1,)]


def test_a_loaded_file_unchanged_since_is_not_read_again(con, tmp_path, monkeypatch):
    import os

    from lead_scoring import landing

    path = tmp_path / "events_20261102.jsonl"
    event = {"event_id": "e1", "occurred_at": "2026-10-30T10:00:00Z", "email": "a@x", "event_type": "demo"}
    path.write_text(json.dumps(event) + "\n")
    assert not load_map_file(con, path, run_id="r1", as_of=AS_OF).skipped
    hashed = []
    real_sha256 = landing.LandingFile.sha256
    monkeypatch.setattr(
        landing.LandingFile, "sha256", lambda self: hashed.append(self.path) or real_sha256(self)
    )
    # same path, size and modification time: the recorded hash, the file not read
    assert load_map_file(con, path, run_id="r2", as_of=AS_OF).skipped and hashed == []
    # touched (same bytes): read and hashed, still the batch already loaded
    stat = path.stat()
    os.utime(path, ns=(stat.st_atime_ns, stat.st_mtime_ns + 1_000_000_000))
    assert load_map_file(con, path, run_id="r3", as_of=AS_OF).skipped and hashed == [path]
    assert load_map_file(con, path, run_id="r3b", as_of=AS_OF).skipped and hashed == [path]
    # a batch recorded before sizes and times were (an earlier version): hashed once, then known
    con.execute("update ops.batches set file_size = null, file_mtime_ns = null")
    assert load_map_file(con, path, run_id="r3c", as_of=AS_OF).skipped and hashed == [path, path]
    assert load_map_file(con, path, run_id="r3d", as_of=AS_OF).skipped and hashed == [path, path]
    # new bytes of the same size, written later: a new batch
    path.write_text(json.dumps({**event, "event_id": "e2"}) + "\n")
    os.utime(path, ns=(stat.st_atime_ns, stat.st_mtime_ns + 2_000_000_000))
    assert not load_map_file(con, path, run_id="r4", as_of=AS_OF).skipped
    assert con.execute("select count(*) from raw_map.events").fetchall() == [(2,)]
    recorded = "select count(*) from ops.batches where file_mtime_ns is not null"
    assert con.execute(recorded).fetchall() == [(2,)]


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
    result = load_map_file(con, path, run_id="r1", as_of=AS_OF)
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
    first = load_map_file(con, path, run_id="r1", as_of=AS_OF)
    again = load_map_file(con, path, run_id="r2", as_of=AS_OF)
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
    result = load_crm_text(con, "Lead", path, batch, watermark=True, as_of=AS_OF)
    assert (result.rows_loaded, result.rows_quarantined) == (1, 2)
    row = con.execute(
        "select id, numberofemployees, isdeleted, systemmodstamp from raw_salesforce.lead"
    ).fetchall()
    assert row == [("00Q000000000001AAA", 250, False, datetime(2026, 10, 30, 10))]
    assert con.execute("select object, watermark from ops.watermarks").fetchall() == [("Lead", end)]


def test_data_loader_csv_missing_required_column_rejects_the_file_clearly(con, tmp_path):
    path = tmp_path / "Lead_export.csv"
    path.write_text("Email,Company\na@b.com,Acme\n\nc@d.com,Beta\n")
    batch = Batch("files:Lead:x", "files", "Lead", str(path), "r1")
    result = load_crm_text(con, "Lead", path, batch, watermark=False, as_of=AS_OF)
    assert (result.rows_read, result.rows_loaded, result.rows_quarantined) == (2, 0, 2)
    rows = quarantine(con)
    assert [line for line, _ in rows] == [2, 4]
    assert rows[0][1] == (
        "required column(s) id, systemmodstamp missing from the header (Email, Company); "
        "fix the export and drop the file again"
    )
    assert con.execute("select status, notes from ops.batches").fetchall() == [("rejected", rows[0][1])]
    again = load_crm_text(con, "Lead", path, Batch("files:Lead:x", "files", "Lead", str(path), "r2"),
                          watermark=False, as_of=AS_OF)  # fmt: skip
    assert again.skipped and len(quarantine(con)) == 2


def test_our_own_extract_missing_a_required_column_is_a_bug_and_raises(con, tmp_path):
    from lead_scoring import crm_schema

    path = tmp_path / "Lead.parquet"
    write_text_parquet([{"Email": "a@b.com"}], [f for f in crm_schema.fields("Lead") if f != "Id"], path)
    batch = Batch("salesforce:Lead:x", "salesforce", "Lead", str(path), "r1")
    with pytest.raises(FileLayoutError, match="required column"):
        load_crm_text(con, "Lead", path, batch, watermark=True, as_of=AS_OF)


def test_rows_of_another_object_and_malformed_ids_are_quarantined(con, tmp_path):
    path = tmp_path / "Lead_export.csv"
    path.write_text(
        "Id,Email,SystemModstamp\n"
        "00Q000000000001AAA,a@x.com,2026-10-01T00:00:00Z\n"
        "003000000000001AAA,b@x.com,2026-10-01T00:00:00Z\n"
        "00Q1,c@x.com,2026-10-01T00:00:00Z\n"
    )
    batch = Batch("files:Lead:ids", "files", "Lead", str(path), "r1")
    result = load_crm_text(con, "Lead", path, batch, watermark=False, as_of=AS_OF)
    assert (result.rows_loaded, result.rows_quarantined) == (1, 2)
    assert quarantine(con) == [
        (3, "Id 003000000000001AAA is not a Lead Id (Lead Ids start with 00Q): row for another object"),
        (4, "malformed Id 00Q1 (expected 18 letters and digits)"),
    ]


def test_unknown_crm_objects_and_non_csv_files_are_rejected_not_ignored(con, tmp_path):
    from lead_scoring.load.files import crm_landing_files

    crm = tmp_path / "crm"
    for relative, text in {
        "Lead/leads.csv": "Id,SystemModstamp\n",
        "Campaign/campaigns.csv": "Id,Name\n701000000000001AAA,Launch\n",
        "Lead/leads.xlsx": "PK\x03\x04 binary",
        "stray.csv": "Id\n",
        "Lead/.partial.csv": "being written",
    }.items():
        (crm / relative).parent.mkdir(parents=True, exist_ok=True)
        (crm / relative).write_text(text)
    entries = [(obj, path.relative_to(crm).as_posix()) for obj, path in crm_landing_files(crm)]
    assert entries == [
        ("Lead", "Lead/leads.csv"),
        ("Campaign", "Campaign/campaigns.csv"),
        ("Lead", "Lead/leads.xlsx"),
        ("", "stray.csv"),
    ]
    outcomes = {}
    for obj, relative in entries[1:]:
        batch = Batch(f"files:{relative}", "files", obj, str(crm / relative), "r1")
        result = load_crm_text(con, obj, crm / relative, batch, watermark=False, as_of=AS_OF)
        outcomes[relative] = (result.rows_read, result.rows_quarantined)
    assert outcomes == {"Campaign/campaigns.csv": (1, 1), "Lead/leads.xlsx": (1, 1), "stray.csv": (0, 0)}
    reasons = [r[0] for r in con.execute("select reason from ops.quarantine order by file").fetchall()]
    assert reasons[0].startswith("unknown CRM object (folder 'Campaign')")
    assert reasons[1].startswith("not a CSV file (.xlsx)")
    assert reasons[2].startswith("unknown CRM object (no object folder)")  # the empty file's notice
    assert con.execute("select count(*) from ops.batches where status = 'rejected'").fetchall() == [(3,)]


def test_duplicate_ids_in_a_batch_keep_the_newest(con, tmp_path):
    path = tmp_path / "Lead_export.csv"
    path.write_text(
        "Id,Email,SystemModstamp\n"
        "00Q000000000001AAA,old@x.com,2026-10-01T00:00:00.000Z\n"
        "00Q000000000001AAA,new@x.com,2026-10-02T00:00:00.000Z\n"
        "00Q000000000002AAA,b@x.com,2026-10-01T00:00:00.000Z\n"
    )
    batch = Batch("files:Lead:dup", "files", "Lead", str(path), "r1")
    result = load_crm_text(con, "Lead", path, batch, watermark=False, as_of=AS_OF)
    assert (result.rows_read, result.rows_loaded, result.rows_quarantined) == (3, 2, 1)
    assert con.execute("select email from raw_salesforce.lead order by id").fetchall() == [
        ("new@x.com",),
        ("b@x.com",),
    ]
    assert quarantine(con) == [(2, "duplicate id in this batch (kept the newest)")]


def test_impossible_timestamps_and_oversized_fields_are_quarantined(con, tmp_path):
    base = {"email": "a@x.com", "event_type": "page_view"}
    rows = [
        {**base, "event_id": "e1", "occurred_at": "2099-01-01T00:00:00Z"},
        {**base, "event_id": "e2", "occurred_at": "1990-01-01T00:00:00Z"},
        {**base, "event_id": "e3", "occurred_at": "2026-10-01T00:00:00Z", "url": "/" + "x" * 40_000},
        {**base, "event_id": "e4", "occurred_at": "2026-10-01T00:00:00Z", "event_type": "mystery"},
    ]
    path = tmp_path / "events_t.jsonl"
    path.write_text("\n".join(json.dumps(r) for r in rows) + "\n")
    result = load_map_file(con, path, run_id="r1", as_of=AS_OF)
    assert (result.rows_loaded, result.rows_quarantined) == (1, 3)
    reasons = dict(quarantine(con))
    assert reasons[1].startswith("impossible timestamp in occurred_at: 2099")
    assert reasons[2].startswith("impossible timestamp in occurred_at: 1990")
    assert reasons[3] == "oversized field url (40001 characters)"
    # an unknown event type is kept (and scores 0), not quarantined
    assert con.execute("select event_type from raw_map.events").fetchall() == [("mystery",)]


def test_wrong_encoding_lines_are_quarantined_with_their_physical_line(con, tmp_path):
    good = b'{"event_id": "e%d", "occurred_at": "2026-10-01T00:00:00Z", "crm_id": "x", "event_type": "x"}'
    path = tmp_path / "events_enc.jsonl"
    path.write_bytes(good % 1 + b"\n" + b'{"event_id": "\xe9"}\n' + b"\n" + good % 4 + b"\n")
    result = load_map_file(con, path, run_id="r1", as_of=AS_OF)
    assert (result.rows_read, result.rows_loaded, result.rows_quarantined) == (3, 2, 1)
    assert quarantine(con) == [(2, "wrong encoding (not UTF-8)")]
    assert con.execute("select event_id, _line from raw_map.events order by _line").fetchall() == [
        ("e1", 1),
        ("e4", 4),
    ]


def test_schema_drift_is_loaded_and_reported(con, tmp_path):
    path = tmp_path / "Lead_drift.csv"
    path.write_text(
        "Id,SystemModstamp,Email,Favourite_Colour__c\n00Q000000000001AAA,2026-10-01T00:00:00Z,a@x.com,red\n"
    )
    batch = Batch("files:Lead:drift", "files", "Lead", str(path), "r1")
    assert load_crm_text(con, "Lead", path, batch, watermark=False, as_of=AS_OF).rows_loaded == 1
    notes = con.execute("select notes from ops.batches").fetchall()[0][0]
    assert "extra columns ignored: Favourite_Colour__c" in notes
    assert "optional columns missing (loaded as NULL): firstname" in notes


garbage_line = st.one_of(
    st.text(alphabet=st.characters(blacklist_characters="\n\r", blacklist_categories=("Cs",)), max_size=80),
    st.binary(max_size=40).map(lambda b: b.replace(b"\n", b"").replace(b"\r", b"")),
    st.builds(
        lambda i, t: json.dumps(
            {"event_id": f"h{i}", "occurred_at": t, "email": "a@x.com", "event_type": "page_view"}
        ),
        st.integers(0, 5),
        st.sampled_from(["2026-10-01T00:00:00Z", "nope", "", "2026-13-01"]),
    ),
)


@settings(max_examples=40, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(lines=st.lists(garbage_line, max_size=30))
@example(lines=["\x1f"])  # a line of one control byte was once skipped without a trace
@example(lines=["\xa0"])  # and a line of a no-break space (DuckDB trim() takes it for blank)
@example(lines=[b"\xef\xbb\xbf"])  # a file of only a UTF-8 byte order mark: no line at all
def test_random_garbage_never_crashes_the_loader_and_every_line_is_accounted_for(tmp_path_factory, lines):
    import duckdb

    folder = tmp_path_factory.mktemp("garbage")
    path = folder / "events_garbage.jsonl"
    data = b"\n".join(line if isinstance(line, bytes) else line.encode("utf-8") for line in lines) + b"\n"
    path.write_bytes(data)
    con = duckdb.connect()
    warehouse.ensure_schema(con)
    result = load_map_file(con, path, run_id="h", as_of=AS_OF)
    # a UTF-8 byte order mark opening the file marks its encoding, it is no content (DuckDB drops it)
    lines_read = data.removeprefix(b"\xef\xbb\xbf").split(b"\n")[:-1]
    non_blank = sum(1 for raw in lines_read if raw.strip(b" "))
    assert result.rows_loaded + result.rows_quarantined == result.rows_read
    loaded = con.execute("select count(*) from raw_map.events").fetchall()[0][0]
    quarantined = con.execute("select count(*) from ops.quarantine where line > 0").fetchall()[0][0]
    assert (loaded, quarantined) == (result.rows_loaded, result.rows_quarantined)
    status = con.execute("select status from ops.batches").fetchall()[0][0]
    if status == "rejected":  # the whole file refused: every line quarantined, the reason said
        assert con.execute("select bool_and(reason <> '') from ops.quarantine").fetchall()[0][0]
        assert result.rows_read == len([raw for raw in lines_read if raw.strip()])
    else:
        assert result.rows_read == non_blank
    con.close()


def test_crm_extract_streams_records_in_chunks_in_order(con, tmp_path):
    from lead_scoring import crm_schema

    pulled = []

    def pages():  # what query_all_iter yields; the writer must not ask for all of it at once
        for i in range(25):
            pulled.append(i)
            yield {"Id": f"00Q{i:015d}", "IsDeleted": i % 2 == 0, "NumberOfEmployees": i, "Email": None}

    path = tmp_path / "Lead.parquet"
    rows = write_text_parquet(pages(), crm_schema.fields("Lead"), path, chunk_rows=10)
    assert rows == 25 and pulled == list(range(25))
    read = con.execute(
        f"select id, isdeleted, numberofemployees, email from read_parquet('{path}')"
    ).fetchall()
    assert read[:2] == [("00Q000000000000000", "true", "0", None), ("00Q000000000000001", "false", "1", None)]
    assert [r[0] for r in read] == [f"00Q{i:015d}" for i in range(25)]
    assert not list(tmp_path.glob(".*staging*"))  # the staging database is removed
    empty = tmp_path / "Contact.parquet"
    assert write_text_parquet(iter([]), crm_schema.fields("Contact"), empty) == 0
    assert con.execute(f"select count(*) from read_parquet('{empty}')").fetchall() == [(0,)]
