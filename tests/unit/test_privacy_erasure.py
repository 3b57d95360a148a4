"""Erasure requests end to end with the real loaders and DuckDB: a person disappears from
raw, quarantine, write-back ledgers and derived tables, stays out of later loads, and every
batch still accounts for each row (read = loaded + quarantined + erased)."""

from __future__ import annotations

import io
import json
import logging

import pytest

from lead_scoring import config, pipeline, run_context, run_logging, run_summary, warehouse
from lead_scoring.cli import main
from lead_scoring.privacy import erasure

AS_OF = "2026-11-01T10:00:00"
JANE, BOB = "jane.doe@example.com", "bob@acme.io"
JANE_LEAD, JANE_CONTACT, BOB_LEAD = "00Q000000000001AAA", "003000000000001AAA", "00Q000000000002AAA"


def event(event_id: str, at: str, event_type: str = "page_view", **who: str) -> str:
    """One generic JSONL event line; ``who`` is ``email=...`` and/or ``crm_id=...``."""
    return json.dumps({"event_id": event_id, "occurred_at": at, "event_type": event_type, **who}) + "\n"


def write(path, text: str) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(text)


def first_drop(landing) -> None:
    stamp = "2026-10-30T09:00:00Z"
    write(
        landing / "crm" / "Lead" / "lead_1.csv",
        "Id,FirstName,LastName,Email,Company,CreatedDate,SystemModstamp\n"
        f"{JANE_LEAD},Jane,Doe,Jane.Doe@Example.com,Acme,{stamp},{stamp}\n"
        f"{BOB_LEAD},Bob,Stone,{BOB},Acme,{stamp},{stamp}\n"
        f"00Q000000000009AAA,Jane,Doe,JANE.DOE@example.com,Acme,{stamp},not-a-date\n"  # quarantined
        f"00Q000000000003AAA,Ann,Lee,ann@beta.io,Beta,{stamp},{stamp}\n",
    )
    write(
        landing / "crm" / "Contact" / "contact_1.csv",
        "Id,FirstName,LastName,Email,CreatedDate,SystemModstamp\n"
        f"{JANE_CONTACT},Jane,Doe, jane.doe@example.com ,{stamp},{stamp}\n"
        f"003000000000002AAA,Carl,Berg,carl@beta.io,{stamp},{stamp}\n",
    )
    write(
        landing / "crm" / "Task" / "task_1.csv",
        "Id,WhoId,Subject,CreatedDate,SystemModstamp\n"
        f"00T000000000001AAA,{JANE_LEAD},Call Jane,{stamp},{stamp}\n"
        f"00T000000000002AAA,{BOB_LEAD},Call Bob,{stamp},{stamp}\n",
    )
    events = [
        event("e1", "2026-10-30T08:00:00Z", email=JANE),
        event("e2", "2026-10-30T08:01:00Z", crm_id=JANE_LEAD),
        event("e3", "2026-10-30T08:02:00Z", email=BOB),
    ]
    write(landing / "map" / "events_1.jsonl", "".join(events))
    write(
        landing / "map" / "marketo_leads_1.csv",
        "id,email,sfdcLeadId,sfdcContactId,updatedAt\n"
        f"501,{JANE.upper()},{JANE_LEAD},,2026-10-30T08:00:00Z\n"
        f"502,{BOB},{BOB_LEAD},,2026-10-30T08:00:00Z\n",
    )
    write(
        landing / "map" / "marketo_activities_1.csv",
        "marketoGUID,leadId,activityDate,activityTypeId,primaryAttributeValue,attributes\n"
        "g1,501,2026-10-30T08:00:00Z,1,/pricing,{}\n"
        "g2,502,2026-10-30T08:00:00Z,1,/pricing,{}\n",
    )


def second_drop(landing) -> None:
    """Jane again: a modified Lead, events by address and by CRM id, activities by Marketo id."""
    stamp = "2026-10-31T09:00:00Z"
    write(
        landing / "crm" / "Lead" / "lead_2.csv",
        "Id,FirstName,LastName,Email,Company,CreatedDate,SystemModstamp\n"
        f"{JANE_LEAD},Jane,Doe,jane.doe@example.com,Acme Corp,{stamp},{stamp}\n"
        f"00Q000000000004AAA,Dan,Moe,dan@gamma.io,Gamma,{stamp},{stamp}\n",
    )
    events = [
        event("e4", "2026-10-31T08:00:00Z", "form_fill", email=JANE),
        event("e5", "2026-10-31T08:01:00Z", crm_id=JANE_LEAD),
        event("e6", "2026-10-31T08:02:00Z", email="dan@gamma.io"),
    ]
    write(landing / "map" / "events_2.jsonl", "".join(events) + "{broken jane.doe@example.com\n")
    write(
        landing / "map" / "marketo_activities_2.csv",
        "marketoGUID,leadId,activityDate,activityTypeId,primaryAttributeValue,attributes\n"
        "g3,501,2026-10-31T08:00:00Z,1,/pricing,{}\n"
        "g4,502,2026-10-31T08:00:00Z,1,/pricing,{}\n",
    )


def load(run_id: str) -> dict:
    ctx = run_context.make_context(run_id, AS_OF)
    return pipeline.load_raw(ctx, pipeline.extract_crm(ctx), pipeline.extract_map(ctx))


def people(con) -> dict[str, set]:
    """Where Jane (by address, CRM ids or Marketo id) still appears."""
    found = {
        "lead": con.execute(
            "select id from raw_salesforce.lead where lower(trim(email)) = ?", [JANE]
        ).fetchall(),
        "lead_id": con.execute("select id from raw_salesforce.lead where id = ?", [JANE_LEAD]).fetchall(),
        "contact": con.execute(
            "select id from raw_salesforce.contact where id = ?", [JANE_CONTACT]
        ).fetchall(),
        "task": con.execute("select id from raw_salesforce.task where whoid = ?", [JANE_LEAD]).fetchall(),
        "events": con.execute(
            "select event_id from raw_map.events where lower(email) = ? or crm_id = ?", [JANE, JANE_LEAD]
        ).fetchall(),
        "marketo_leads": con.execute("select id from raw_map.marketo_leads where id = 501").fetchall(),
        "activities": con.execute(
            "select marketoguid from raw_map.marketo_activities where leadid = 501"
        ).fetchall(),
        "quarantine": con.execute(
            "select line from ops.quarantine where lower(record) like '%jane.doe@%'"
        ).fetchall(),
        "history": con.execute(
            "select crm_id from marts.lead_score_history where crm_id = ?", [JANE_LEAD]
        ).fetchall(),
        "sync_state": con.execute(
            "select crm_id from ops.crm_sync_state where crm_id = ?", [JANE_LEAD]
        ).fetchall(),
    }
    return {name: rows for name, rows in found.items() if rows}


def assert_accounting(con) -> None:
    """Every batch: rows read = loaded + quarantined + erased, and 'loaded' is what raw holds."""
    rows = con.execute(
        "select batch_id, object, rows_read, rows_loaded, rows_quarantined, rows_erased from ops.batches"
    ).fetchall()
    for batch_id, table, read, loaded, quarantined, erased in rows:
        assert read == loaded + quarantined + erased, batch_id
        if table == "ops.erasure_requests":  # a request file: its requests are hashes, shared by files
            held = loaded
        elif table.startswith("raw_map."):
            held = con.execute(f"select count(*) from {table} where _batch_id = ?", [batch_id]).fetchall()[0][
                0
            ]
        else:
            held = con.execute(
                f"select count(*) from {warehouse.raw_table(table)} where _batch_id = ?", [batch_id]
            ).fetchall()[0][0]
        assert held == loaded, batch_id
        in_quarantine = con.execute(
            "select count(*) from ops.quarantine where _batch_id = ?", [batch_id]
        ).fetchall()
        assert in_quarantine[0][0] == quarantined, batch_id


@pytest.fixture
def files_env(settings, monkeypatch):
    monkeypatch.setenv("LEADSCORE_CRM_SOURCE", "files")
    with warehouse.connect(settings.warehouse) as con:  # an incremental model that survives rebuilds
        con.execute("create schema if not exists marts")
        con.execute(
            "create table marts.lead_score_history (crm_id varchar, composite_score double, run_id varchar)"
        )
    return config.load_settings()


def test_an_erased_person_leaves_every_table_and_stays_out_of_later_loads(files_env, capsys):
    settings = files_env
    first_drop(settings.landing)
    load("r1")
    with warehouse.connect(settings.warehouse) as con:
        con.execute(
            "create or replace table marts.lead_score_history as select * from (values "
            f"('{JANE_LEAD}', 80.0, 'r1'), ('{BOB_LEAD}', 40.0, 'r1')) t(crm_id, composite_score, run_id)"
        )
        con.execute(
            "insert into ops.crm_sync_state values "
            f"('Lead', '{JANE_LEAD}', 'h1', now(), 'r1'), ('Lead', '{BOB_LEAD}', 'h2', now(), 'r1')"
        )
        assert set(people(con)) == {
            "lead", "lead_id", "contact", "task", "events", "marketo_leads", "activities", "quarantine",
            "history", "sync_state",
        }  # fmt: skip

    assert main(["erase", "--email", "  Jane.Doe@EXAMPLE.com "]) == 0
    assert "1 new (stored as SHA-256 only)" in capsys.readouterr().out
    with warehouse.connect(settings.warehouse) as con:
        assert people(con) == {}
        assert con.execute("select email_sha256 from ops.erasure_requests").fetchall() == [
            (erasure.email_sha256(JANE),)
        ]
        assert con.execute("select count(*) from marts.lead_score_history").fetchall() == [(1,)]  # Bob stays
        assert con.execute("select count(*) from raw_salesforce.lead").fetchall() == [(2,)]  # Bob and Ann
        assert_accounting(con)

    # Next run: Jane arrives again (by address, CRM id and Marketo id), Bob is erased by a file.
    second_drop(settings.landing)
    write(settings.landing / "erasure" / "requests.csv", "email\nBOB@acme.io\n")
    buffer = io.StringIO()
    root = logging.getLogger()
    handlers, level = list(root.handlers), root.level
    run_logging.configure(logging.DEBUG, stream=buffer, fmt="json")
    try:
        result = load("r2")
    finally:
        root.handlers[:], root.level = handlers, level
    assert result["rows_erased"] >= 6  # Jane's lead, 2 events, broken line, activity; Bob's rows
    with warehouse.connect(settings.warehouse) as con:
        assert people(con) == {}
        assert not con.execute(
            "select 1 from raw_salesforce.lead where lower(email) = ? or id = ?", [BOB, BOB_LEAD]
        ).fetchall()
        assert not con.execute(
            "select 1 from raw_map.marketo_activities where leadid in (501, 502)"
        ).fetchall()
        assert con.execute("select event_id from raw_map.events order by 1").fetchall() == [("e6",)]
        assert sorted(r[0] for r in con.execute("select id from raw_salesforce.lead").fetchall()) == [
            "00Q000000000003AAA",
            "00Q000000000004AAA",
        ]
        assert_accounting(con)
        skipped = con.execute(
            "select rows_erased from ops.batches where file like '%events_2.jsonl'"
        ).fetchall()
        assert skipped == [(3,)]  # e4, e5 and the broken line naming her: never written, not quarantined
        assert con.execute("select count(*) from ops.erasure_requests").fetchall() == [(2,)]
        # no address is stored anywhere in ops.*
        columns = con.execute(
            "select table_name, column_name from information_schema.columns "
            "where table_schema = 'ops' and data_type = 'VARCHAR'"
        ).fetchall()
        for table, column in columns:
            hits = con.execute(
                f'select count(*) from ops.{table} where regexp_matches(lower("{column}"), ?)',
                ["jane\\.doe|bob@acme"],
            ).fetchall()
            assert hits == [(0,)], (table, column)
    assert not (settings.landing / "erasure" / "requests.csv").exists()  # the addresses are not kept
    logs = buffer.getvalue()
    records = [json.loads(line) for line in logs.splitlines()]
    ours = [r for r in records if r["logger"].startswith("lead_scoring")]
    assert any("erasure:" in r["message"] for r in ours)
    assert {(r["run_id"], r["stage"]) for r in ours} == {
        ("r2", s) for s in ("extract_crm", "extract_map", "load_raw")
    }
    for address in (JANE, BOB, "dan@gamma.io", "ann@beta.io"):
        assert address not in logs.lower()

    summary = run_summary.summarize(run_context.make_context("r2", AS_OF), {"load_raw": result})
    assert summary["rows_erased"] == result["rows_erased"]


def test_a_bad_line_in_an_erasure_file_is_quarantined_hashed_and_the_load_goes_on(files_env):
    settings = files_env
    first_drop(settings.landing)
    request = settings.landing / "erasure" / "requests.csv"
    write(request, f"email\n{JANE}\nnot-an-address\n\n{BOB}\n")
    load("r1")  # no error: the load ends and the run goes on to score
    with warehouse.connect(settings.warehouse) as con:
        assert con.execute("select count(*) from ops.erasure_requests").fetchall() == [(2,)]
        assert people(con) == {}  # the valid requests applied to this very load
        assert not con.execute("select 1 from raw_salesforce.lead where id = ?", [BOB_LEAD]).fetchall()
        assert con.execute(
            "select file, line, record, reason from ops.quarantine where source = 'erasure'"
        ).fetchall() == [
            (str(request), 3, "sha256:" + erasure.email_sha256("not-an-address"), erasure.NOT_AN_ADDRESS)
        ]
        ledger = con.execute(
            "select status, rows_read, rows_loaded, rows_quarantined from ops.batches "
            "where source = 'erasure'"
        )
        assert ledger.fetchall() == [("loaded", 3, 2, 1)]
        assert_accounting(con)
        for table, column in con.execute(  # the bad value is kept nowhere in clear
            "select table_name, column_name from information_schema.columns "
            "where table_schema = 'ops' and data_type = 'VARCHAR'"
        ).fetchall():
            hits = con.execute(f'select count(*) from ops.{table} where "{column}" like ?', ["%not-an-addr%"])
            assert hits.fetchall() == [(0,)], (table, column)
    assert request.exists()  # kept until fixed: the bad line may be a real request mistyped

    load("r2")  # the same bytes again: not read twice, nothing quarantined twice
    with warehouse.connect(settings.warehouse) as con:
        assert con.execute("select count(*) from ops.quarantine where source = 'erasure'").fetchall() == [
            (1,)
        ]
        assert con.execute("select count(*) from ops.batches where source = 'erasure'").fetchall() == [(1,)]

    write(request, f"email\n{JANE}\nnot.an@address.io\n")  # fixed: new content, a new batch
    load("r3")
    assert not request.exists()  # every line recorded: the addresses are not kept
    with warehouse.connect(settings.warehouse) as con:
        assert con.execute("select count(*) from ops.erasure_requests").fetchall() == [(3,)]


def test_erasure_files_that_cannot_be_read_as_requests_are_rejected_hashed(files_env):
    settings = files_env
    folder = settings.landing / "erasure"
    write(folder / "names.csv", "name,company\nJane Doe,Acme\n")
    write(folder / "requests.txt", f"{JANE}\n")
    (folder / "latin1.csv").write_bytes(b"email\n" + JANE.encode() + b"\nj\xe9r\xf4me@example.com\n")
    load("r1")
    with warehouse.connect(settings.warehouse) as con:
        batches = dict(
            con.execute(
                "select regexp_extract(file, '[^/]+$'), status from ops.batches where source = 'erasure'"
            ).fetchall()
        )
        assert batches == {"names.csv": "rejected", "requests.txt": "rejected", "latin1.csv": "loaded"}
        reasons = dict(
            con.execute(
                "select regexp_extract(file, '[^/]+$') || ':' || line, reason from ops.quarantine"
            ).fetchall()
        )
        assert reasons["names.csv:2"].startswith("no 'email' column in the header")
        assert reasons["requests.txt:1"].startswith("not a CSV file (.txt)")
        assert reasons["latin1.csv:3"] == "wrong encoding (not UTF-8)"
        records = [r[0] for r in con.execute("select record from ops.quarantine").fetchall()]
        assert all(record.startswith("sha256:") for record in records)  # no name, no address
        assert con.execute("select count(*) from ops.erasure_requests").fetchall() == [
            (1,)
        ]  # latin1's good line
    assert (folder / "names.csv").exists() and (folder / "latin1.csv").exists()


def test_erase_cli_rejects_bad_input(settings, tmp_path, capsys):
    assert main(["erase", "--email", "nobody"]) == 2
    assert "not an e-mail address" in capsys.readouterr().err
    assert main(["erase", "--file", str(tmp_path / "missing.csv")]) == 2
    assert "no such file" in capsys.readouterr().err
    bad = tmp_path / "bad.csv"
    bad.write_text("name,company\nJane,Acme\n")
    assert main(["erase", "--file", str(bad)]) == 2
    assert "no 'email' column" in capsys.readouterr().err
    assert main(["erase"]) == 2


def test_the_hash_matches_the_warehouse_sql():
    import duckdb

    con = duckdb.connect()
    assert con.execute("select sha256(lower(trim(' Jane.Doe@Example.COM ')))").fetchall()[0][0] == (
        erasure.email_sha256("jane.doe@example.com")
    )
