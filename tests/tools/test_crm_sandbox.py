"""Tests of the local CRM sandbox through the real simple-salesforce client.

A module-scoped sandbox server runs on a free port in a temporary folder, seeded from small
parquet files; every API test goes through ``lead_scoring.crm.client.salesforce`` (the
production code path). The SOQL parser/compiler is also tested without a server.
"""

from __future__ import annotations

import csv
import io
import json
import re
import sqlite3
import time
from collections import Counter
from collections.abc import Iterator
from contextlib import contextmanager
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import pytest
import requests
from simple_salesforce import Salesforce
from simple_salesforce.exceptions import (
    SalesforceExpiredSession,
    SalesforceGeneralError,
    SalesforceMalformedRequest,
    SalesforceResourceNotFound,
)

from crm_sandbox import runtime, soql, store
from crm_sandbox.faults import FaultInjector, parse_spec
from lead_scoring.crm import client as crm_client
from lead_scoring.crm.client import pinned_session
from lead_scoring.crm.http import RetryPolicy
from lead_scoring_dev import sandbox_cli

N_LEADS = 520
DELETED = {3, 7}  # lead numbers loaded with IsDeleted = true
NULL_EMAIL = 10  # lead number loaded without an email
NOT_FOUND_CODES = ("INVALID_CROSS_REFERENCE_KEY", "ENTITY_IS_DELETED")


def lead_id(i: int) -> str:
    return store.id18(f"00Q{i:012d}")


# --------------------------------------------------------------------------------------------
# SOQL without a server
# --------------------------------------------------------------------------------------------
def test_soql_parse_resolves_names_and_literals() -> None:
    q = soql.parse_soql(
        "select id, EMAIL from lead where systemmodstamp > 2026-11-01T10:00:00+01:00 "
        "and (Email like 'a%' or NumberOfEmployees in (1, 2.5)) "
        "order by SystemModstamp desc nulls last, id limit 10 offset 5"
    )
    assert q.object == "Lead"
    assert q.fields == ["Id", "Email"]
    assert [o.field for o in q.order_by] == ["SystemModstamp", "Id"]
    sql, params = soql.compile_rowids(q)
    assert params[0] == "2026-11-01T09:00:00.000+0000"  # normalised to UTC
    assert "?" in sql and "2026" not in sql and "a%" not in sql  # literals are bound
    assert '"IsDeleted" = 0' in sql
    assert params[-2:] == [10, 5]
    assert soql.compile_rowids(q, include_deleted=True)[0].count("IsDeleted") == 0


@pytest.mark.parametrize(
    ("text", "code"),
    [
        ("SELECT Nope FROM Lead", "INVALID_FIELD"),
        ("SELECT Id FROM Leed", "INVALID_TYPE"),
        ("SELECT Owner.Name FROM Lead", "INVALID_FIELD"),
        ("SELECT Email FROM Lead GROUP BY Company", "MALFORMED_QUERY"),
        ("SELECT Company, COUNT(Id) FROM Lead GROUP BY Company ORDER BY Email", "MALFORMED_QUERY"),
        ("SELECT AnnualRevenue, COUNT(Id) FROM Lead GROUP BY AnnualRevenue", "MALFORMED_QUERY"),
        ("SELECT MAX(IsDeleted) FROM Lead", "MALFORMED_QUERY"),
        ("SELECT COUNT(Id) n, MAX(Email) n FROM Lead", "MALFORMED_QUERY"),
        ("SELECT Id x FROM Lead", "MALFORMED_QUERY"),
        ("SELECT COUNT() FROM Lead GROUP BY Company", "MALFORMED_QUERY"),
        ("SELECT COUNT(Id) FROM Lead HAVING COUNT(Id) > 1", "MALFORMED_QUERY"),
        ("SELECT Company, COUNT(Id) FROM Lead GROUP BY Company HAVING COUNT(Id) > 'a'", "MALFORMED_QUERY"),
        ("SELECT Id FROM Lead ORDER BY COUNT(Id)", "MALFORMED_QUERY"),
        ("SELECT CALENDAR_YEAR(CreatedDate), COUNT(Id) FROM Lead", "MALFORMED_QUERY"),
        ("SELECT Id FROM Lead WHERE Email = 'a' AND Title = 'b' OR Title = 'c'", "MALFORMED_QUERY"),
        ("SELECT Id FROM Lead WHERE SystemModstamp > 2026-11-01T10:00:00", "MALFORMED_QUERY"),
        ("SELECT Id FROM Lead WHERE Email = 5", "MALFORMED_QUERY"),
        ("SELECT Id FROM Lead WHERE NumberOfEmployees = '5'", "MALFORMED_QUERY"),
        ("SELECT Id FROM Lead WHERE Email = 'x'' OR 1=1'", "MALFORMED_QUERY"),
        ("SELECT Id FROM Lead WHERE Email = 'open", "MALFORMED_QUERY"),
        ("SELECT Id, id FROM Lead", "MALFORMED_QUERY"),
        ("SELECT AVG(Company) FROM Lead", "MALFORMED_QUERY"),
        ("SELECT COUNT(Id), MAX(Nope) FROM Lead", "INVALID_FIELD"),
        ("DELETE FROM Lead", "MALFORMED_QUERY"),
        ("", "MALFORMED_QUERY"),
    ],
)
def test_soql_errors(text: str, code: str) -> None:
    with pytest.raises(soql.SoqlError) as info:
        soql.parse_soql(text)
    assert info.value.error_code == code


def _memory_db() -> sqlite3.Connection:
    conn = sqlite3.connect(":memory:")
    store.ensure_schema(conn)
    rows = [
        (lead_id(1), "a@x.com", "Alpha", 0),
        (lead_id(2), "B@X.COM", None, 0),
        (lead_id(3), None, "Gamma", 0),
        (lead_id(4), "50%_off@x.com", "Delta", 1),
    ]
    conn.executemany('INSERT INTO "Lead" ("Id", "Email", "Company", "IsDeleted") VALUES (?, ?, ?, ?)', rows)
    return conn


def _ids(conn: sqlite3.Connection, text: str, include_deleted: bool = False) -> set[str]:
    q = soql.parse_soql(text)
    sql, params = soql.compile_rowids(q, include_deleted)
    rowids = [r[0] for r in conn.execute(sql, params)]
    return (
        {
            r[0]
            for r in conn.execute(
                f'SELECT "Id" FROM "Lead" WHERE rowid IN ({",".join("?" * len(rowids))})', rowids
            )
        }
        if rowids
        else set()
    )


def test_soql_semantics_on_sqlite() -> None:
    conn = _memory_db()
    # text comparisons are case-insensitive, like SOQL
    assert _ids(conn, "SELECT Id FROM Lead WHERE Email = 'b@x.com'") == {lead_id(2)}
    # != and NOT IN keep rows whose value is null (SOQL semantics)
    assert _ids(conn, "SELECT Id FROM Lead WHERE Company != 'Alpha'") == {lead_id(2), lead_id(3)}
    not_in = "SELECT Id FROM Lead WHERE Company NOT IN ('Gamma')"
    assert _ids(conn, not_in) == {lead_id(1), lead_id(2)}
    assert _ids(conn, "SELECT Id FROM Lead WHERE NOT Company = 'Alpha'") == {lead_id(2), lead_id(3)}
    assert _ids(conn, "SELECT Id FROM Lead WHERE Email = null") == {lead_id(3)}
    in_null = "SELECT Id FROM Lead WHERE Email IN ('a@x.com', null)"
    assert _ids(conn, in_null) == {lead_id(1), lead_id(3)}
    # LIKE wildcards and escaped wildcards
    assert _ids(conn, "SELECT Id FROM Lead WHERE Email LIKE '%x.com'") == {lead_id(1), lead_id(2)}
    assert _ids(conn, r"SELECT Id FROM Lead WHERE Email LIKE '50\%\_off%'", True) == {lead_id(4)}
    assert _ids(conn, r"SELECT Id FROM Lead WHERE Email LIKE '5\%%'", True) == set()
    # deleted rows only with queryAll
    assert lead_id(4) not in _ids(conn, "SELECT Id FROM Lead")
    assert lead_id(4) in _ids(conn, "SELECT Id FROM Lead", include_deleted=True)
    # a quote escaped with a backslash stays inside the literal
    assert _ids(conn, r"SELECT Id FROM Lead WHERE Email = 'x\' OR Email != \'y'") == set()
    # 15-character Ids match their 18-character form
    assert _ids(conn, f"SELECT Id FROM Lead WHERE Id = '{lead_id(1)[:15]}'") == {lead_id(1)}


def test_store_values_and_ids() -> None:
    assert store.parse_datetime("2026-11-01T10:00:00Z") == "2026-11-01T10:00:00.000+0000"
    moment = store.parse_datetime("2026-11-01T12:00:00.123456+02:00")
    assert moment == "2026-11-01T10:00:00.123+0000"
    assert store.coerce_value("Lead", "HasOptedOutOfEmail", "true") == 1
    assert store.coerce_value("Lead", "NumberOfEmployees", "12") == 12
    with pytest.raises(store.RowError) as info:
        store.coerce_value("Lead", "Lead_Score__c", "high")
    assert info.value.status_code == "INVALID_TYPE_ON_FIELD_IN_RECORD"
    assert "Lead_Score__c" in info.value.message
    with pytest.raises(store.RowError):
        store.coerce_value("Lead", "Scored_At__c", "2026-11-01 10:00")
    new = store.new_id("Lead")
    assert new.startswith("00Q") and len(new) == 18 and store.id18(new[:15]) == new
    assert store.id18("001000000000001") == "001000000000001AAA"


def _error(prepare, row) -> tuple[str, list[str]]:
    with pytest.raises(store.RowError) as info:
        prepare(row)
    return info.value.status_code, info.value.fields


def test_a_bulk_jobs_rows_are_typed_column_by_column_with_the_csv_rules() -> None:
    """A Bulk job's header is resolved once (``csv_row_preparer``) and each row is typed the
    way ``prepare_values`` types a record, with the Bulk CSV rules: an empty cell is left out,
    #N/A is null. A bad cell, an over-long string or a read-only column is a RowError naming
    the field: the first bad column of the row."""
    header = [
        "Id",
        "LastName",
        "NumberOfEmployees",
        "Lead_Score__c",
        "HasOptedOutOfEmail",
        "Scored_At__c",
        "ConvertedDate",
        "OwnerId",
    ]
    prepare = store.csv_row_preparer("Lead", header, allowed_keys=("Id",))
    row = [
        "00Q000000000001AAA",
        "Ng",
        "12.0",
        "41.5",
        "true",
        "2026-11-01T12:00:00+02:00",
        "2026-11-01",
        "005000000000001",
    ]
    assert prepare(row) == {
        "LastName": "Ng",
        "NumberOfEmployees": 12,
        "Lead_Score__c": 41.5,
        "HasOptedOutOfEmail": 1,
        "Scored_At__c": "2026-11-01T10:00:00.000+0000",
        "ConvertedDate": "2026-11-01",
        "OwnerId": "005000000000001AAA",
    }
    assert prepare([row[0], "", "#N/A", "", "0", "", "#N/A", ""]) == {
        "NumberOfEmployees": None,
        "HasOptedOutOfEmail": 0,
        "ConvertedDate": None,
    }
    bad_cells = {
        "LastName": ("x" * (store._MAX_STRING + 1), "STRING_TOO_LONG"),
        "NumberOfEmployees": ("twelve", "INVALID_TYPE_ON_FIELD_IN_RECORD"),
        "Lead_Score__c": ("nan", "INVALID_TYPE_ON_FIELD_IN_RECORD"),
        "HasOptedOutOfEmail": ("maybe", "INVALID_TYPE_ON_FIELD_IN_RECORD"),
        "Scored_At__c": ("2026-11-01 10:00", "INVALID_TYPE_ON_FIELD_IN_RECORD"),
        "ConvertedDate": ("11/01/2026", "INVALID_TYPE_ON_FIELD_IN_RECORD"),
        "OwnerId": ("not-an-id", "MALFORMED_ID"),
    }
    for column, (cell, code) in bad_cells.items():
        broken = list(row)
        broken[header.index(column)] = cell
        assert _error(prepare, broken) == (code, [column])
    two_bad = list(row)
    two_bad[header.index("NumberOfEmployees")], two_bad[header.index("OwnerId")] = "twelve", "not-an-id"
    assert _error(prepare, two_bad) == ("INVALID_TYPE_ON_FIELD_IN_RECORD", ["NumberOfEmployees"])

    # a read-only column fails every row that gets to it, even with an empty cell
    read_only = store.csv_row_preparer(
        "Lead", ["Email", "Lead_Score__c", "CreatedDate", "LastName"], allowed_keys=("Email",)
    )
    for cells in (["a@x.com", "41", "", "Ng"], ["a@x.com", "41", "2026-11-01T10:00:00Z", ""]):
        assert _error(read_only, cells) == ("INVALID_FIELD_FOR_INSERT_UPDATE", ["CreatedDate"])
    assert _error(read_only, ["a@x.com", "high", "", "Ng"]) == (
        "INVALID_TYPE_ON_FIELD_IN_RECORD",
        ["Lead_Score__c"],
    )


def test_fault_spec_parsing() -> None:
    assert parse_spec("429:0.1,500:0.05,timeout:0.02,row_error:0.01") == {
        "429": 0.1,
        "500": 0.05,
        "timeout": 0.02,
        "row_error": 0.01,
    }
    for bad in ("429", "404:0.1", "429:2", "429:0.7,500:0.6"):
        with pytest.raises(ValueError):
            parse_spec(bad)
    a, b = FaultInjector("429:0.3", seed=5), FaultInjector("429:0.3", seed=5)
    assert [a.draw_request() for _ in range(50)] == [b.draw_request() for _ in range(50)]
    # job and row faults are drawn per job and per row, not per request: they never add up to a request rate
    jobs = FaultInjector("500:0.9,job_failure:1.0,row_error:1.0", seed=1)
    assert (
        jobs.draw_job()
        and jobs.draw_row()
        and jobs.describe()["injected"] == {"job_failure": 1, "row_error": 1}
    )


# --------------------------------------------------------------------------------------------
# The sandbox server
# --------------------------------------------------------------------------------------------
def _write_parquet(folder: Path) -> None:
    import duckdb

    folder.mkdir(parents=True, exist_ok=True)
    con = duckdb.connect()
    deleted = ", ".join(str(i) for i in DELETED)
    con.execute(f"""
        COPY (
          SELECT '00Q' || lpad(CAST(i AS VARCHAR), 12, '0') AS Id,
                 'First' || i AS FirstName, 'Last' || i AS LastName,
                 CASE WHEN i = {NULL_EMAIL} THEN NULL
                      ELSE 'user' || i || '@example.com' END AS Email,
                 'Company ' || (i % 7) AS Company,
                 CAST(i % 500 AS INTEGER) AS NumberOfEmployees,
                 CAST(i * 1.5 AS DOUBLE) AS AnnualRevenue,
                 i % 2 = 0 AS HasOptedOutOfEmail,
                 DATE '2026-01-01' + CAST(i AS INTEGER) AS ConvertedDate,
                 i IN ({deleted}) AS IsDeleted,
                 TIMESTAMPTZ '2026-10-01 00:00:00+00' + to_minutes(CAST(i AS BIGINT))
                   AS SystemModstamp,
                 TIMESTAMP '2026-09-01 00:00:00' AS CreatedDate
          FROM range(1, {N_LEADS + 1}) t(i)
        ) TO '{folder / "Lead.parquet"}' (FORMAT parquet)""")
    con.execute(f"""
        COPY (SELECT '001' || lpad(CAST(i AS VARCHAR), 12, '0') AS Id, 'Acme ' || i AS Name,
                     '2026-10-01T00:00:00Z' AS SystemModstamp
              FROM range(1, 4) t(i)) TO '{folder / "Account.parquet"}' (FORMAT parquet)""")
    con.close()


@pytest.fixture(scope="module")
def sandbox(tmp_path_factory: pytest.TempPathFactory) -> Iterator[runtime.SandboxInfo]:
    folder = tmp_path_factory.mktemp("sandbox")
    _write_parquet(folder / "parquet")
    counts = store.load_parquet_dir(folder / "crm.sqlite", folder / "parquet")
    assert counts == {"Lead": N_LEADS, "Account": 3}
    info = runtime.start(folder, port=0)
    try:
        yield info
    finally:
        assert runtime.stop(folder)
        assert not (folder / "sandbox.json").exists()


@pytest.fixture(scope="module")
def sf(sandbox: runtime.SandboxInfo) -> Salesforce:
    conn = crm_client.sandbox_connection(sandbox.token_file.parent)
    assert conn is not None
    return crm_client.salesforce(conn)


class Raw:
    """Direct HTTP access to the sandbox (sandbox endpoints, headers, bad tokens)."""

    def __init__(self, info: runtime.SandboxInfo) -> None:
        self.info = info
        self.session = requests.Session()

    def request(self, method: str, path: str, token: str | None = "default", **kw: Any):
        headers = kw.pop("headers", {})
        if token is not None:
            headers["Authorization"] = f"Bearer {self.info.token if token == 'default' else token}"
        return self.session.request(
            method, self.info.url + path, headers=headers, verify=str(self.info.cert), **kw
        )

    def faults(self, spec: str, seed: int = 1, **extra: Any) -> None:
        r = self.request("POST", "/_sandbox/faults", json={"spec": spec, "seed": seed, **extra})
        assert r.status_code == 200, r.text

    def stats(self) -> dict[str, int]:
        return self.request("GET", "/_sandbox/stats").json()["counts"]

    def reset_stats(self) -> None:
        assert self.request("POST", "/_sandbox/stats/reset").status_code == 200


@pytest.fixture(scope="module")
def raw(sandbox: runtime.SandboxInfo) -> Raw:
    return Raw(sandbox)


@contextmanager
def faults(raw: Raw, spec: str, seed: int = 1, **extra: Any) -> Iterator[None]:
    raw.faults(spec, seed, **extra)
    try:
        yield
    finally:
        raw.faults("")


def test_start_is_idempotent_and_info(sandbox: runtime.SandboxInfo) -> None:
    folder = sandbox.token_file.parent
    assert runtime.start(folder, port=0).pid == sandbox.pid
    assert runtime.info(folder) == sandbox
    info_file = json.loads((folder / "sandbox.json").read_text())
    assert set(info_file) == {"pid", "port", "url", "cert", "token_file", "db"}
    assert info_file["url"] == f"https://localhost:{sandbox.port}"
    assert (sandbox.token_file.stat().st_mode & 0o777) == 0o600
    with pytest.raises(RuntimeError, match="already runs"):
        runtime.start(folder, port=0, db=folder / "other.sqlite")


def test_health_needs_no_auth_and_bad_token_is_401(sandbox, raw: Raw) -> None:
    assert raw.request("GET", "/_sandbox/health", token=None).json()["pid"] == sandbox.pid
    r = raw.request("GET", "/services/data/v59.0/query/?q=SELECT+Id+FROM+Lead", token="wrong")
    assert r.status_code == 401
    assert r.json() == [{"message": "Session expired or invalid", "errorCode": "INVALID_SESSION_ID"}]
    assert raw.request("GET", "/services/data/v59.0/limits/", token=None).status_code == 401
    assert raw.request("GET", "/_sandbox/stats", token=None).status_code == 401
    session = pinned_session(str(sandbox.cert), timeout=10)
    bad = Salesforce(instance=f"localhost:{sandbox.port}", session_id="wrong", session=session)
    with pytest.raises(SalesforceExpiredSession) as info:
        bad.query("SELECT Id FROM Lead")
    assert info.value.content[0]["errorCode"] == "INVALID_SESSION_ID"


def test_query_where_datetime_order_limit(sf: Salesforce) -> None:
    result = sf.query(
        "SELECT Id, Email, SystemModstamp, IsDeleted, HasOptedOutOfEmail, NumberOfEmployees, "
        "AnnualRevenue, ConvertedDate FROM Lead WHERE SystemModstamp > 2026-10-01T05:00:00Z "
        "ORDER BY SystemModstamp DESC LIMIT 5"
    )
    assert result["totalSize"] == 5 and result["done"] is True
    records = result["records"]
    stamps = [r["SystemModstamp"] for r in records]
    assert stamps == sorted(stamps, reverse=True)
    assert stamps[0] == "2026-10-01T08:40:00.000+0000"  # lead 520: +520 minutes
    first = records[0]
    assert first["attributes"] == {
        "type": "Lead",
        "url": f"/services/data/v59.0/sobjects/Lead/{lead_id(N_LEADS)}",
    }
    assert list(first)[1:] == [
        "Id",
        "Email",
        "SystemModstamp",
        "IsDeleted",
        "HasOptedOutOfEmail",
        "NumberOfEmployees",
        "AnnualRevenue",
        "ConvertedDate",
    ]
    assert first["IsDeleted"] is False and first["HasOptedOutOfEmail"] is True
    assert first["NumberOfEmployees"] == 20 and first["AnnualRevenue"] == 780.0
    assert first["ConvertedDate"] == "2027-06-05"
    # the boundary is exclusive, the time zone offset is honoured, nulls come back as null
    n = sf.query(
        "SELECT COUNT() FROM Lead WHERE SystemModstamp >= 2026-10-01T10:00:00.000+02:00 "
        "AND SystemModstamp <= 2026-10-01T08:10:00Z"
    )
    assert n["totalSize"] == 11 and n["records"] == []
    null_email = sf.query(f"SELECT Email, Company FROM Lead WHERE Id = '{lead_id(NULL_EMAIL)}'")
    assert null_email["records"][0]["Email"] is None


def test_paging_batch_size_200_with_query_all(sf: Salesforce, raw: Raw) -> None:
    raw.reset_stats()
    live = N_LEADS - len(DELETED)
    headers = {"Sforce-Query-Options": "batchSize=200"}
    first = sf.query("SELECT Id, Email FROM Lead ORDER BY Id", headers=headers)
    assert first["totalSize"] == live and first["done"] is False and len(first["records"]) == 200
    assert re.fullmatch(r"/services/data/v59\.0/query/[A-Za-z0-9]+-200", first["nextRecordsUrl"])
    records = sf.query_all("SELECT Id, Email FROM Lead ORDER BY Id", headers=headers)["records"]
    ids = [r["Id"] for r in records]
    assert len(ids) == live and len(set(ids)) == live and ids == sorted(ids)
    counts = raw.stats()
    assert counts["query"] == 2 and counts["query_more"] == 2  # 518 rows = 3 pages of <= 200
    # query_all_iter with the default page size: one call
    assert sum(1 for _ in sf.query_all_iter("SELECT Id FROM Lead")) == live


def test_paging_is_a_consistent_snapshot(sf: Salesforce) -> None:
    headers = {"Sforce-Query-Options": "batchSize=200"}
    text = "SELECT Id, Title FROM Lead WHERE Title = null ORDER BY Id"
    page = sf.query(text, headers=headers)
    total = page["totalSize"]
    # a new matching record appears while the cursor is open: it is not in the snapshot
    created = sf.Lead.create({"LastName": "Late", "Company": "Late Co"})["id"]
    seen = [r["Id"] for r in page["records"]]
    while not page["done"]:
        page = sf.query_more(page["nextRecordsUrl"], identifier_is_url=True, headers=headers)
        seen.extend(r["Id"] for r in page["records"])
    assert len(seen) == total and created not in seen
    sf.Lead.delete(created)


def test_query_all_returns_deleted_rows(sf: Salesforce) -> None:
    live = sf.query("SELECT Id FROM Lead WHERE IsDeleted = true")
    assert live["totalSize"] == 0
    deleted = sf.query_all("SELECT Id, IsDeleted FROM Lead WHERE IsDeleted = true", include_deleted=True)
    deleted_ids = {r["Id"] for r in deleted["records"]}
    assert deleted_ids >= {lead_id(i) for i in DELETED}  # plus any deleted by earlier tests
    assert all(r["IsDeleted"] is True for r in deleted["records"])
    live_count = sf.query("SELECT COUNT() FROM Lead")["totalSize"]
    all_count = sf.query("SELECT COUNT() FROM Lead", include_deleted=True)["totalSize"]
    assert all_count - live_count == len(deleted_ids)


@pytest.mark.parametrize(
    ("text", "code"),
    [
        ("SELECT Company, Email, COUNT(Id) FROM Lead GROUP BY Company", "MALFORMED_QUERY"),
        ("SELECT SUM(Email) FROM Lead", "MALFORMED_QUERY"),
        ("SELECT COUNT(Favourite_Colour__c) FROM Lead", "INVALID_FIELD"),
        ("SELECT Id FROM Lead WHERE", "MALFORMED_QUERY"),
        ("SELECT Id, Favourite_Colour__c FROM Lead", "INVALID_FIELD"),
        ("SELECT Id FROM Lead ORDER BY Nope", "INVALID_FIELD"),
        ("SELECT Id FROM Widget__c", "INVALID_TYPE"),
    ],
)
def test_query_errors_are_salesforce_errors(sf: Salesforce, text: str, code: str) -> None:
    with pytest.raises(SalesforceMalformedRequest) as info:
        sf.query(text)
    assert info.value.status == 400
    assert info.value.content[0]["errorCode"] == code
    assert "Traceback" not in info.value.content[0]["message"]


def test_soql_injection_attempts_match_nothing_extra(sf: Salesforce) -> None:
    with pytest.raises(SalesforceMalformedRequest) as info:
        sf.query("SELECT Id FROM Lead WHERE Email = 'x'' OR 1=1'")
    assert info.value.content[0]["errorCode"] == "MALFORMED_QUERY"
    escaped = "SELECT Id FROM Lead WHERE Email = 'x\\' OR Email != \\'y'"
    assert sf.query(escaped)["totalSize"] == 0
    assert sf.query("SELECT Id FROM Lead WHERE Email = 'user1@example.com\\' --'")["totalSize"] == 0
    assert sf.query("SELECT Id FROM Lead WHERE Email LIKE '\\%'")["totalSize"] == 0
    assert sf.query("SELECT Id FROM Lead WHERE Email = 'USER1@example.com'")["totalSize"] == 1


def _leads(sf: Salesforce, fields: str, where: str = "") -> list[dict[str, Any]]:
    """Every live lead's ``fields``, for computing the expected aggregates directly."""
    return sf.query_all(f"SELECT {fields} FROM Lead {where}")["records"]


def test_aggregate_group_by_counts_match_a_direct_count(sf: Salesforce) -> None:
    result = sf.query("SELECT Company, COUNT(Id) FROM Lead GROUP BY Company")
    expected = Counter(r["Company"] for r in _leads(sf, "Company"))
    assert result["done"] is True and result["totalSize"] == len(expected) == len(result["records"])
    assert all(r["attributes"] == {"type": "AggregateResult"} for r in result["records"])
    assert {r["Company"]: r["expr0"] for r in result["records"]} == expected
    # grouped booleans come back as booleans; SUM keeps an int field's ints
    text = (
        "SELECT HasOptedOutOfEmail, COUNT(Id), SUM(NumberOfEmployees), MAX(AnnualRevenue) top "
        "FROM Lead GROUP BY HasOptedOutOfEmail"
    )
    leads = _leads(sf, "HasOptedOutOfEmail, NumberOfEmployees, AnnualRevenue")
    for row in sf.query(text)["records"]:
        group = [r for r in leads if r["HasOptedOutOfEmail"] is row["HasOptedOutOfEmail"]]
        assert list(row) == ["attributes", "HasOptedOutOfEmail", "expr0", "expr1", "top"]
        assert row["expr0"] == len(group)
        assert row["expr1"] == sum(r["NumberOfEmployees"] or 0 for r in group)
        assert row["top"] == max(r["AnnualRevenue"] for r in group if r["AnnualRevenue"] is not None)


def test_aggregate_aliases_expr_names_order_and_limit(sf: Salesforce) -> None:
    result = sf.query(
        "SELECT Company c, COUNT(Id), MAX(NumberOfEmployees) top, MIN(ConvertedDate) FROM Lead "
        "WHERE HasOptedOutOfEmail = false GROUP BY Company ORDER BY COUNT(Id) DESC, Company LIMIT 3"
    )
    leads = _leads(sf, "Company, NumberOfEmployees, ConvertedDate", "WHERE HasOptedOutOfEmail = false")
    counts = Counter(r["Company"] for r in leads)
    expected = sorted(counts, key=lambda c: (-counts[c], c))[:3]
    records = result["records"]
    assert result["totalSize"] == 3 and result["done"] is True
    assert [list(r) for r in records] == [["attributes", "c", "expr0", "top", "expr1"]] * 3
    assert [r["c"] for r in records] == expected
    first = [r for r in leads if r["Company"] == expected[0]]
    assert records[0]["expr0"] == len(first)
    assert records[0]["top"] == max(r["NumberOfEmployees"] or 0 for r in first)
    assert records[0]["expr1"] == min(r["ConvertedDate"] for r in first if r["ConvertedDate"])  # text


def test_aggregate_without_group_by_is_one_row_and_count_still_works(sf: Salesforce) -> None:
    text = "SELECT COUNT(Id), COUNT_DISTINCT(Company), AVG(AnnualRevenue), MAX(SystemModstamp) FROM Lead"
    result = sf.query(text)
    leads = _leads(sf, "Company, AnnualRevenue, SystemModstamp")
    assert result["totalSize"] == 1 and result["done"] is True
    row = result["records"][0]
    assert row["attributes"] == {"type": "AggregateResult"}
    assert row["expr0"] == len(leads) == sf.query("SELECT COUNT() FROM Lead")["totalSize"]
    assert row["expr1"] == len({r["Company"] for r in leads})
    revenues = [r["AnnualRevenue"] for r in leads if r["AnnualRevenue"] is not None]
    assert row["expr2"] == pytest.approx(sum(revenues) / len(revenues))
    assert row["expr3"] == max(r["SystemModstamp"] for r in leads)
    # queryAll counts the deleted rows too; no match still gives one row
    with_deleted = sf.query(text, include_deleted=True)["records"][0]["expr0"]
    deleted = sf.query("SELECT COUNT() FROM Lead WHERE IsDeleted = true", include_deleted=True)
    assert with_deleted - row["expr0"] == deleted["totalSize"] > 0
    none = sf.query("SELECT COUNT(Id), MAX(Email) FROM Lead WHERE Email = 'nobody@nowhere'")
    assert none["records"][0]["expr0"] == 0 and none["records"][0]["expr1"] is None


def test_aggregate_having_filters_groups(sf: Salesforce) -> None:
    counts = Counter(r["Company"] for r in _leads(sf, "Company"))
    threshold = min(counts.values())
    result = sf.query(
        "SELECT Company, COUNT(Id) n FROM Lead GROUP BY Company "
        f"HAVING COUNT(Id) > {threshold} AND Company != 'Company 1' ORDER BY Company"
    )
    expected = {c: n for c, n in counts.items() if n > threshold and c != "Company 1"}
    assert expected and len(expected) < len(counts)
    assert {r["Company"]: r["n"] for r in result["records"]} == expected
    assert result["totalSize"] == len(expected)


@pytest.mark.parametrize(
    ("text", "message"),
    [
        (
            "SELECT Company, Email, COUNT(Id) FROM Lead GROUP BY Company",
            "Field must be grouped or aggregated: Email",
        ),
        ("SELECT SUM(Email) FROM Lead", "field Email does not support aggregate operator SUM"),
        (
            "SELECT AVG(ConvertedDate) FROM Lead",
            "field ConvertedDate does not support aggregate operator AVG",
        ),
        ("SELECT COUNT(Colour__c) FROM Lead", "No such column 'Colour__c' on entity 'Lead'"),
        (
            "SELECT Company, COUNT(Id) FROM Lead GROUP BY Company ORDER BY Email",
            "Ordered field must be grouped",
        ),
        ("SELECT SystemModstamp, COUNT(Id) FROM Lead GROUP BY SystemModstamp", "can not be grouped"),
    ],
)
def test_aggregate_errors_name_the_field_and_position(sf: Salesforce, text: str, message: str) -> None:
    with pytest.raises(SalesforceMalformedRequest) as info:
        sf.query(text)
    error = info.value.content[0]
    assert error["errorCode"] in ("MALFORMED_QUERY", "INVALID_FIELD")
    assert message in error["message"] and "ERROR at Row:1:Column:" in error["message"]


def test_aggregate_queries_are_refused_by_bulk_query_jobs(sf: Salesforce) -> None:
    with pytest.raises(SalesforceMalformedRequest) as info:
        sf.restful("jobs/query", method="POST", json={"query": "SELECT COUNT(Id) FROM Lead"})
    assert info.value.content[0]["errorCode"] == "INVALIDJOB"


def test_sobject_get_update_changes_systemmodstamp(sf: Salesforce) -> None:
    rid = lead_id(42)
    before = sf.Lead.get(rid)
    assert before["Id"] == rid and before["attributes"]["type"] == "Lead"
    assert (
        sf.Lead.update(
            rid, {"Lead_Score__c": 87.5, "Lead_Tier__c": "1", "Scored_At__c": "2026-11-01T10:00:00Z"}
        )
        == 204
    )
    after = sf.Lead.get(rid)
    assert after["Lead_Score__c"] == 87.5 and after["Lead_Tier__c"] == "1"
    assert after["Scored_At__c"] == "2026-11-01T10:00:00.000+0000"
    assert after["SystemModstamp"] > before["SystemModstamp"]
    assert after["LastModifiedDate"] == after["SystemModstamp"]
    assert after["CreatedDate"] == before["CreatedDate"]
    assert sf.Lead.get(rid, params={"fields": "Id,Lead_Score__c"}) is not None
    with pytest.raises(SalesforceMalformedRequest) as info:
        sf.Lead.update(rid, {"SystemModstamp": "2020-01-01T00:00:00Z"})
    assert info.value.content[0]["errorCode"] == "INVALID_FIELD_FOR_INSERT_UPDATE"
    with pytest.raises(SalesforceMalformedRequest) as info:
        sf.Lead.update(rid, {"Lead_Score__c": "very high"})
    assert info.value.content[0]["errorCode"] == "INVALID_TYPE_ON_FIELD_IN_RECORD"
    assert "Lead_Score__c" in info.value.content[0]["message"]
    with pytest.raises(SalesforceResourceNotFound):
        sf.Lead.update(store.id18("00Q999999999999"), {"Lead_Score__c": 1})
    with pytest.raises(SalesforceResourceNotFound):
        sf.Lead.get(store.id18("00Q999999999999"))


def test_create_upsert_delete(sf: Salesforce) -> None:
    created = sf.Lead.create({"LastName": "New", "Company": "NewCo", "Email": "new@lead.io"})
    assert created["success"] is True
    assert created["id"].startswith("00Q") and len(created["id"]) == 18
    response = sf.Lead.upsert("Email/new@lead.io", {"Title": "CTO"}, raw_response=True)
    assert response.status_code == 200 and response.json()["id"] == created["id"]
    response = sf.Lead.upsert("Email/other@lead.io", {"LastName": "Other", "Company": "O"}, raw_response=True)
    assert response.status_code == 201 and response.json()["created"] is True
    assert sf.Lead.get_by_custom_id("Email", "new@lead.io")["Title"] == "CTO"
    assert sf.Lead.delete(created["id"]) == 204
    assert sf.query(f"SELECT Id FROM Lead WHERE Id = '{created['id']}'")["totalSize"] == 0
    gone = sf.query(f"SELECT IsDeleted FROM Lead WHERE Id = '{created['id']}'", include_deleted=True)
    assert gone["records"][0]["IsDeleted"] is True
    with pytest.raises(SalesforceResourceNotFound) as info:
        sf.Lead.delete(created["id"])
    assert info.value.content[0]["errorCode"] == "ENTITY_IS_DELETED"
    described = sf.Lead.describe()
    fields = {f["name"]: f for f in described["fields"]}
    assert fields["Lead_Score__c"]["type"] == "double" and fields["Lead_Score__c"]["updateable"]
    assert fields["SystemModstamp"]["updateable"] is False
    assert {o["name"] for o in sf.describe()["sobjects"]} >= {"Lead", "Contact", "Account"}


def test_collections_update_with_a_bad_id(sf: Salesforce) -> None:
    good1, good2, missing = lead_id(50), lead_id(51), store.id18("00Q999999999998")
    body = {
        "allOrNone": False,
        "records": [
            {"attributes": {"type": "Lead"}, "Id": good1, "Lead_Tier__c": "2"},
            {"attributes": {"type": "Lead"}, "Id": missing, "Lead_Tier__c": "2"},
            {"attributes": {"type": "Lead"}, "Id": good2, "Lead_Tier__c": "3"},
            {"attributes": {"type": "Lead"}, "Id": lead_id(52), "Fit_Score__c": "abc"},
        ],
    }
    result = sf.restful("composite/sobjects", method="PATCH", json=body)
    assert [r["success"] for r in result] == [True, False, True, False]
    assert result[0]["id"] == good1 and result[1]["id"] == missing
    assert result[1]["errors"][0]["statusCode"] in NOT_FOUND_CODES
    assert result[3]["errors"][0]["statusCode"] == "INVALID_TYPE_ON_FIELD_IN_RECORD"
    assert result[3]["errors"][0]["fields"] == ["Fit_Score__c"]
    assert sf.Lead.get(good2)["Lead_Tier__c"] == "3"
    # allOrNone: one failure rolls everything back
    body["allOrNone"] = True
    body["records"][0]["Lead_Tier__c"] = "9"
    result = sf.restful("composite/sobjects", method="PATCH", json=body)
    assert not any(r["success"] for r in result)
    assert result[0]["errors"][0]["statusCode"] == "ALL_OR_NONE_OPERATION_ROLLED_BACK"
    assert sf.Lead.get(good1)["Lead_Tier__c"] == "2"
    # create, upsert by external id and delete through Collections
    made = sf.restful(
        "composite/sobjects",
        method="POST",
        json={
            "records": [
                {"attributes": {"type": "Contact"}, "LastName": "C1", "Email": "c1@x.io"},
                {"attributes": {"type": "Contact"}, "LastName": "C2", "IsDeleted": True},
            ]
        },
    )
    assert made[0]["success"] and made[0]["id"].startswith("003")
    assert made[1]["errors"][0]["statusCode"] == "INVALID_FIELD_FOR_INSERT_UPDATE"
    upserted = sf.restful(
        "composite/sobjects/Contact/Email",
        method="PATCH",
        json={
            "records": [
                {"attributes": {"type": "Contact"}, "Email": "c1@x.io", "Title": "VP"},
                {"attributes": {"type": "Contact"}, "Email": "c3@x.io", "LastName": "C3"},
            ]
        },
    )
    assert [u["created"] for u in upserted] == [False, True]
    assert upserted[0]["id"] == made[0]["id"]
    deleted = sf.restful("composite/sobjects", method="DELETE", params={"ids": f"{made[0]['id']},{missing}"})
    assert [d["success"] for d in deleted] == [True, False]
    # more than 200 records is a request error
    with pytest.raises(SalesforceMalformedRequest) as info:
        sf.restful(
            "composite/sobjects",
            method="PATCH",
            json={"records": [{"attributes": {"type": "Lead"}, "Id": good1} for _ in range(201)]},
        )
    assert info.value.content[0]["errorCode"] == "EXCEEDED_ID_LIMIT"


def _csv_rows(text: str) -> list[dict[str, str]]:
    return list(csv.DictReader(io.StringIO(text)))


def test_bulk2_update_results_and_job_list(sf: Salesforce, raw: Raw, tmp_path: Path) -> None:
    good1, good2, missing = lead_id(60), lead_id(61), store.id18("00Q999999999997")
    results = sf.bulk2.Lead.update(
        records=[
            {"Id": good1, "Lead_Score__c": "55.5", "Lead_Tier__c": "2"},
            {"Id": missing, "Lead_Score__c": "10", "Lead_Tier__c": "4"},
            {"Id": good2, "Lead_Score__c": "66", "Lead_Tier__c": "1"},
        ],
        wait=0.05,
    )
    assert len(results) == 1
    outcome = results[0]
    assert outcome["numberRecordsProcessed"] == 3 and outcome["numberRecordsFailed"] == 1
    job_id = outcome["job_id"]
    ok = _csv_rows(sf.bulk2.Lead.get_successful_records(job_id))
    assert [(r["sf__Id"], r["sf__Created"]) for r in ok] == [(good1, "false"), (good2, "false")]
    assert ok[0]["Lead_Score__c"] == "55.5"
    failed = _csv_rows(sf.bulk2.Lead.get_failed_records(job_id))
    assert len(failed) == 1 and failed[0]["sf__Id"] == missing
    assert failed[0]["sf__Error"].split(":")[0] in NOT_FOUND_CODES
    assert _csv_rows(sf.bulk2.Lead.get_unprocessed_records(job_id)) == []
    assert sf.Lead.get(good2)["Lead_Score__c"] == 66.0
    # the job is listed, so a writer that crashed can reconcile by job id
    listed = sf.restful("jobs/ingest")
    assert job_id in {j["id"] for j in listed["records"]}
    job = sf.restful(f"jobs/ingest/{job_id}")
    assert (job["state"], job["object"], job["operation"]) == ("JobComplete", "Lead", "update")
    # CSV semantics: an empty cell leaves the field unchanged, #N/A sets it to null
    sf.Lead.update(good1, {"Title": "Head of Data"})
    path = tmp_path / "update.csv"
    path.write_text(f"Id,Title,Lead_Tier__c\n{good1},,#N/A\n")
    sf.bulk2.Lead.update(csv_file=str(path), wait=0.05)
    record = sf.Lead.get(good1)
    assert record["Title"] == "Head of Data" and record["Lead_Tier__c"] is None
    # insert: sf__Created is true
    inserted = sf.bulk2.Account.insert(records=[{"Name": "Bulk Co", "NumberOfEmployees": "12"}], wait=0.05)
    ok = _csv_rows(sf.bulk2.Account.get_successful_records(inserted[0]["job_id"]))
    assert ok[0]["sf__Created"] == "true" and ok[0]["sf__Id"].startswith("001")


def test_bulk2_low_level_client_abort_and_errors(sf: Salesforce) -> None:
    from simple_salesforce.bulk2 import Operation, _Bulk2Client

    client = _Bulk2Client("Lead", sf.bulk2_url, sf.bulk2.headers, sf.session)
    job = client.create_job(Operation.upsert, external_id_field="Email")
    assert job["state"] == "Open" and job["externalIdFieldName"] == "Email"
    client.upload_job_data(job["id"], "Email,LastName,Company\nbulk-up@x.io,Up,UpCo\n")
    assert client.abort_job(job["id"], False)["state"] == "Aborted"
    unprocessed = _csv_rows(sf.bulk2.Lead.get_unprocessed_records(job["id"]))
    assert unprocessed == [{"Email": "bulk-up@x.io", "LastName": "Up", "Company": "UpCo"}]
    bad = client.create_job(Operation.update)
    client.upload_job_data(bad["id"], "Id,Colour__c\n00Q000000000001,red\n")
    client.close_job(bad["id"])
    with pytest.raises(Exception, match="Field name not found"):
        client.wait_for_job(bad["id"], False, 0.05)
    with pytest.raises(SalesforceResourceNotFound):
        client.get_job("750SB0000000000AAA", False)


def test_a_large_window_is_extracted_by_a_bulk_query_job_with_the_rest_extract_s_rows(
    sf: Salesforce, raw: Raw, tmp_path: Path, monkeypatch
) -> None:
    """Over LEADSCORE_EXTRACT_BULK_THRESHOLD the extract runs a Bulk API 2.0 queryAll job and
    reads its CSV pages: the same Parquet rows as the REST pages (deleted rows included),
    and a handful of calls instead of one per 2,000 records."""
    import duckdb

    from lead_scoring.extract import salesforce as extract

    end = datetime(2027, 1, 1)
    monkeypatch.setenv("LEADSCORE_EXTRACT_BULK_THRESHOLD", "1000000")
    rest = extract.extract_object(sf, "Lead", None, end, tmp_path / "rest")
    monkeypatch.setenv("LEADSCORE_EXTRACT_BULK_THRESHOLD", "100")
    monkeypatch.setattr(extract, "BULK_QUERY_PAGE_ROWS", 200)  # 3 result pages
    raw.reset_stats()
    bulk = extract.extract_object(sf, "Lead", None, end, tmp_path / "bulk")

    assert rest["via"] == "rest" and bulk["via"] == "bulk"
    assert bulk["rows"] == rest["rows"] >= N_LEADS
    con = duckdb.connect()
    both = f"read_parquet('{rest['path']}') except all select * from read_parquet('{bulk['path']}')"
    assert con.execute(f"select count(*) from (select * from {both})").fetchall() == [(0,)]
    other = f"read_parquet('{bulk['path']}') except all select * from read_parquet('{rest['path']}')"
    assert con.execute(f"select count(*) from (select * from {other})").fetchall() == [(0,)]
    deleted = con.execute(f"select count(*) from read_parquet('{bulk['path']}') where IsDeleted = 'true'")
    assert deleted.fetchall()[0][0] >= len(DELETED)
    stats = raw.stats()
    pages = -(-rest["rows"] // 200)
    assert stats["bulk_query_create"] == 1 and stats["bulk_query_results"] == pages, stats
    assert not list(tmp_path.glob("bulk/.*")), "staging and page files are removed"

    with pytest.raises(ValueError, match="LEADSCORE_EXTRACT_BULK_THRESHOLD"):
        monkeypatch.setenv("LEADSCORE_EXTRACT_BULK_THRESHOLD", "lots")
        extract.extract_object(sf, "Lead", None, end, tmp_path / "bad")


def test_fault_injection_429_and_500(sandbox: runtime.SandboxInfo, raw: Raw) -> None:
    # the faults themselves, as the CRM sends them: a client that does not retry (the
    # product's retries are tested in tests/unit/test_crm_http.py and tests/e2e/test_write_back.py)
    conn = crm_client.sandbox_connection(sandbox.token_file.parent)
    sf = crm_client.salesforce(conn, RetryPolicy(max_retries=0))
    with faults(raw, "429:1.0"):
        with pytest.raises(SalesforceGeneralError) as info:
            sf.query("SELECT Id FROM Lead LIMIT 1")
        assert info.value.status == 429
        assert info.value.content[0]["errorCode"] == "REQUEST_LIMIT_EXCEEDED"
        r = raw.request("GET", "/services/data/v59.0/limits/")
        assert r.status_code == 429 and r.headers["Retry-After"] == "1"
        # never on the sandbox's own endpoints
        assert raw.request("GET", "/_sandbox/stats").status_code == 200
    with faults(raw, "500:1.0"):
        with pytest.raises(SalesforceGeneralError) as info:
            sf.Lead.get(lead_id(1))
        assert info.value.status == 500
        assert info.value.content[0]["errorCode"] == "SERVER_ERROR"
    assert sf.query("SELECT Id FROM Lead LIMIT 1")["totalSize"] == 1
    # seeded draws: the same seed gives the same sequence of outcomes
    outcomes = []
    for _ in range(2):
        with faults(raw, "429:0.5", seed=7):
            statuses = []
            for _ in range(8):
                r = raw.request("GET", "/services/data/v59.0/limits/")
                statuses.append(r.status_code)
            outcomes.append(statuses)
    assert outcomes[0] == outcomes[1] and 429 in outcomes[0] and 200 in outcomes[0]


def test_fault_injection_row_error(sf: Salesforce, raw: Raw) -> None:
    ids = [lead_id(i) for i in range(70, 80)]
    with faults(raw, "row_error:1.0"):
        result = sf.restful(
            "composite/sobjects",
            method="PATCH",
            json={
                "records": [{"attributes": {"type": "Lead"}, "Id": rid, "Lead_Tier__c": "1"} for rid in ids]
            },
        )
        assert all(r["errors"][0]["statusCode"] == "UNABLE_TO_LOCK_ROW" for r in result)
        bulk = sf.bulk2.Lead.update(records=[{"Id": rid, "Lead_Tier__c": "1"} for rid in ids], wait=0.05)
        assert bulk[0]["numberRecordsFailed"] == len(ids)
        failed = _csv_rows(sf.bulk2.Lead.get_failed_records(bulk[0]["job_id"]))
        assert all(f["sf__Error"].startswith("UNABLE_TO_LOCK_ROW") for f in failed)
    with faults(raw, "row_error:0.5", seed=3):
        result = sf.restful(
            "composite/sobjects",
            method="PATCH",
            json={
                "records": [{"attributes": {"type": "Lead"}, "Id": rid, "Lead_Tier__c": "2"} for rid in ids]
            },
        )
        outcome = [r["success"] for r in result]
        assert True in outcome and False in outcome
    tiers = {
        r["Id"]: r["Lead_Tier__c"]
        for r in sf.query_all("SELECT Id, Lead_Tier__c FROM Lead WHERE Id IN ('" + "','".join(ids) + "')")[
            "records"
        ]
    }
    assert {rid for rid, ok in zip(ids, outcome, strict=True) if ok} == {
        rid for rid, tier in tiers.items() if tier == "2"
    }


def test_fault_injection_timeout(raw: Raw) -> None:
    with faults(raw, "timeout:1.0", timeout_s=0.2):
        started = time.monotonic()
        with pytest.raises(requests.exceptions.ReadTimeout):
            raw.request("GET", "/services/data/v59.0/limits/", timeout=0.4)
        assert time.monotonic() - started < 2


def test_limits_header_and_stats(sf: Salesforce, raw: Raw) -> None:
    raw.reset_stats()
    sf.query("SELECT Id FROM Lead LIMIT 1")
    sf.Lead.get(lead_id(1))
    sf.restful(
        "composite/sobjects",
        method="PATCH",
        json={"records": [{"attributes": {"type": "Lead"}, "Id": lead_id(1), "Lead_Tier__c": "3"}]},
    )
    limits = sf.limits()
    assert limits["DailyApiRequests"]["Max"] == 100000
    assert 0 < limits["DailyApiRequests"]["Remaining"] < 100000
    usage = sf.api_usage["api-usage"]
    assert usage.total == 100000 and usage.used >= 4
    r = raw.request("GET", "/services/data/v59.0/sobjects/")
    assert re.fullmatch(r"api-usage=\d+/100000", r.headers["Sforce-Limit-Info"])
    bad = raw.request("GET", "/services/data/v59.0/query/?q=SELEC")
    assert bad.status_code == 400 and "Sforce-Limit-Info" in bad.headers
    counts = raw.stats()
    assert counts == {"query": 2, "sobject": 1, "collections": 1, "limits": 1, "describe": 1}
    raw.reset_stats()
    assert raw.stats() == {}


def test_stats_report_the_servers_busy_seconds_per_kind(tmp_path: Path, monkeypatch) -> None:
    """What the bench reports as the CRM server's share of a stage: each request's handling
    by kind, and the worker applying a Bulk job (which no request's time includes). On a
    sandbox of its own: the shared one may still be answering an earlier test's request."""
    monkeypatch.delenv("REQUESTS_CA_BUNDLE", raising=False)
    monkeypatch.delenv("CURL_CA_BUNDLE", raising=False)
    info = runtime.start(tmp_path, port=0)
    try:
        assert runtime.stats(info)["busy_total_s"] == 0
        sf = crm_client.salesforce(crm_client.sandbox_connection(tmp_path))
        sf.query("SELECT Id FROM Account LIMIT 1")
        sf.bulk2.Account.insert(records=[{"Name": "Busy Co"}], wait=0.05)
        assert Raw(info).request("POST", "/_sandbox/bulk/wait").status_code == 200
        stats = runtime.stats(info)
        busy = stats["busy_s"]
        assert set(stats["counts"]) <= set(busy) and "sandbox" not in busy
        assert busy["query"] > 0 and busy["bulk_processing"] > 0
        # the total is the time the server was busy at all: a poll during a job counts once
        assert max(busy.values()) <= stats["busy_total_s"] <= sum(busy.values()) + 1e-3
        Raw(info).reset_stats()
        assert runtime.stats(info)["busy_s"] == {} and runtime.stats(info)["busy_total_s"] == 0
    finally:
        runtime.stop(tmp_path)


@pytest.fixture
def sandbox_parser(sandbox, monkeypatch):
    """The ``sandbox`` command's parser, its client pointed at the test's sandbox only."""
    import argparse

    monkeypatch.setenv("LEADSCORE_SANDBOX_DIR", str(sandbox.token_file.parent))
    monkeypatch.setattr(crm_client, "connection_from_airflow", lambda conn_id="": None)
    monkeypatch.delenv("LEADSCORE_SF_INSTANCE_URL", raising=False)
    monkeypatch.delenv("LEADSCORE_SF_USERNAME", raising=False)
    parser = argparse.ArgumentParser()
    sandbox_cli.add_subparser(parser.add_subparsers(dest="command"))
    return parser


def test_cli_soql_and_status(sandbox, sandbox_parser, capsys) -> None:
    parser = sandbox_parser
    args = parser.parse_args(["sandbox", "soql", "SELECT Id, Email FROM Lead ORDER BY Id", "--limit", "3"])
    assert args.func(args) == 0
    out = capsys.readouterr().out.splitlines()
    assert out[0].split() == ["Id", "Email"] and len(out) == 6 and "(3 of" in out[-1]
    args = parser.parse_args(["sandbox", "soql", "SELECT COUNT() FROM Lead", "--format", "json"])
    assert args.func(args) == 0
    args = parser.parse_args(["sandbox", "soql", "SELECT Nope FROM Lead"])
    assert args.func(args) == 2
    assert "INVALID_FIELD" in capsys.readouterr().err
    args = parser.parse_args(["sandbox", "status"])
    assert args.func(args) == 0
    assert json.loads(capsys.readouterr().out)["pid"] == sandbox.pid


def test_cli_soql_shows_long_fields_whole_and_aggregate_rows(sf: Salesforce, sandbox_parser, capsys) -> None:
    parser = sandbox_parser

    def run(*argv: str) -> list[str]:
        args = parser.parse_args(["sandbox", "soql", *argv])
        assert args.func(args) == 0
        return capsys.readouterr().out.splitlines()

    reasons = "fit: enterprise software buyer in EMEA;\nintent: pricing page visited three times this week"
    created = sf.Lead.create({"LastName": "Long", "Company": "Long Co", "Score_Reasons__c": reasons})["id"]
    try:
        out = run(f"SELECT Id, Score_Reasons__c FROM Lead WHERE Id = '{created}'")
        assert len(reasons) > 40 and reasons.replace("\n", " ") in out[2]
    finally:
        sf.Lead.delete(created)
    expected = Counter(r["Company"] for r in _leads(sf, "Company"))
    text = "SELECT Company, COUNT(Id) n FROM Lead GROUP BY Company ORDER BY Company"
    table = run(text)
    assert table[0].split() == ["Company", "n"] and f"({len(expected)} of {len(expected)} rows)" == table[-1]
    first = sorted(expected)[0]
    width = len(table[1])
    assert table[2].startswith(first) and table[2].endswith(str(expected[first])) and len(table[2]) == width
    assert json.loads("\n".join(run(text, "--format", "json")))[0] == {"Company": first, "n": expected[first]}
    assert run(text, "--format", "csv")[:2] == ["Company,n", f"{first},{expected[first]}"]


def test_bulk_jobs_survive_a_restart(tmp_path: Path, monkeypatch) -> None:
    monkeypatch.delenv("REQUESTS_CA_BUNDLE", raising=False)
    monkeypatch.delenv("CURL_CA_BUNDLE", raising=False)
    info = runtime.start(tmp_path, port=0)
    try:
        sf = crm_client.salesforce(crm_client.sandbox_connection(tmp_path))
        job_id = sf.bulk2.Account.insert(records=[{"Name": "Persisted"}], wait=0.05)[0]["job_id"]
        assert runtime.stop(tmp_path)
        assert runtime.info(tmp_path) is None
        info = runtime.start(tmp_path, port=0)
        sf = crm_client.salesforce(crm_client.sandbox_connection(tmp_path))
        assert job_id in {j["id"] for j in sf.restful("jobs/ingest")["records"]}
        ok = _csv_rows(sf.bulk2.Account.get_successful_records(job_id))
        assert ok[0]["Name"] == "Persisted"
        assert store.query_sql(info.db, "SELECT count(*) FROM Account") == [(1,)]
    finally:
        runtime.stop(tmp_path)
    # nothing in the log holds the token or record contents
    log = (tmp_path / "sandbox.log").read_text()
    assert info.token not in log and "Persisted" not in log


# --------------------------------------------------------------------------------------------
# Deletions (getDeleted, hardDelete, merge) and the clock, on a sandbox of their own (the
# clock is moved: the shared one's stamps stay the machine's)
# --------------------------------------------------------------------------------------------
CLOCK_AT = datetime(2026, 10, 1, 12, 0, tzinfo=UTC)


@pytest.fixture(scope="module")
def clocked(tmp_path_factory: pytest.TempPathFactory) -> Iterator[tuple[Salesforce, Raw]]:
    folder = tmp_path_factory.mktemp("clocked")
    _write_parquet(folder / "parquet")
    store.load_parquet_dir(folder / "crm.sqlite", folder / "parquet")
    info = runtime.start(folder, port=0)
    try:
        raw = Raw(info)
        r = raw.request("POST", "/_sandbox/clock", json={"now": CLOCK_AT.isoformat()})
        assert r.status_code == 200, r.text
        yield crm_client.salesforce(crm_client.sandbox_connection(folder)), raw
    finally:
        runtime.stop(folder)


def _set_clock(raw: Raw, moment: datetime) -> requests.Response:
    return raw.request("POST", "/_sandbox/clock", json={"now": moment.isoformat()})


def test_the_date_header_is_the_sandbox_clock_and_it_never_goes_back(clocked) -> None:
    sf, raw = clocked
    now = crm_client.server_time(sf)  # the Date header of GET limits/
    assert CLOCK_AT.replace(tzinfo=None) <= now < CLOCK_AT.replace(tzinfo=None) + timedelta(minutes=5)
    sf.Lead.update(lead_id(20), {"Title": "stamped by the sandbox clock"})
    stamp = sf.Lead.get(lead_id(20))["SystemModstamp"]
    assert stamp.startswith("2026-10-01T12:")
    refused = _set_clock(raw, CLOCK_AT - timedelta(hours=1))
    assert refused.status_code == 409 and "cannot go back" in refused.text
    assert raw.request("GET", "/_sandbox/clock").json()["now"].startswith("2026-10-01T12:")


def test_get_deleted_lists_soft_hard_and_merged_deletions(clocked) -> None:
    """REST delete (soft: queryAll still sees it), Bulk hardDelete (gone from queryAll) and a
    merge's loser (soft, its Task moved to the master) are all in getDeleted's window, with
    the deletions loaded with IsDeleted = true; a window ending before them does not list them."""
    sf, raw = clocked
    soft, hard, loser, master = lead_id(11), lead_id(12), lead_id(13), lead_id(14)
    task = sf.Task.create({"WhoId": loser, "Subject": "Call"})["id"]
    sf.Lead.delete(soft)
    sf.bulk2.Lead.hard_delete(records=[{"Id": hard}], wait=0.05)
    merged = raw.request(
        "POST", "/_sandbox/merge", json={"object": "Lead", "master": master, "duplicates": [loser]}
    )
    assert merged.status_code == 200, merged.text
    assert merged.json() == {
        "id": master,
        "mergedRecordIds": [loser],
        "updatedRelatedIds": 1,
        "success": True,
    }
    assert _set_clock(raw, CLOCK_AT + timedelta(minutes=10)).status_code == 200

    start, end = datetime(2026, 9, 30, tzinfo=UTC), CLOCK_AT + timedelta(minutes=10)
    answer = sf.Lead.deleted(start, end)
    listed = {r["id"]: r["deletedDate"] for r in answer["deletedRecords"]}
    assert set(listed) == {lead_id(i) for i in DELETED} | {soft, hard, loser}
    assert listed[lead_id(3)] == "2026-10-01T00:03:00.000+0000"  # loaded deleted: its stamp
    assert all(listed[i].startswith("2026-10-01T12:0") for i in (soft, hard, loser))
    assert answer["latestDateCovered"] == "2026-10-01T12:10:00.000+0000"
    assert answer["earliestDateAvailable"] == "2026-09-16T12:10:00.000+0000"
    everything = sf.query_all(f"SELECT Id, IsDeleted FROM Lead WHERE Id IN ('{soft}', '{hard}', '{loser}')",
                              include_deleted=True)  # fmt: skip
    assert {r["Id"]: r["IsDeleted"] for r in everything["records"]} == {soft: True, loser: True}
    assert sf.Task.get(task)["WhoId"] == master
    before = sf.Lead.deleted(start, CLOCK_AT)  # [start, 12:00): none of today's
    assert {r["id"] for r in before["deletedRecords"]} == {lead_id(i) for i in DELETED}


def test_get_deleted_refuses_what_salesforce_refuses(clocked) -> None:
    sf, raw = clocked
    now = CLOCK_AT + timedelta(minutes=10)

    def refused(start: datetime, end: datetime) -> str:
        with pytest.raises(SalesforceMalformedRequest) as info:
            sf.Lead.deleted(start, end)
        return info.value.content[0]["errorCode"] + ": " + info.value.content[0]["message"]

    assert "more than one minute" in refused(now - timedelta(seconds=60), now)
    assert "earliestDateAvailable" in refused(now - timedelta(days=16), now)
    assert "in the future" in refused(now + timedelta(hours=1), now + timedelta(hours=2))
    missing = raw.request("GET", "/services/data/v59.0/sobjects/Lead/deleted/?start=2026-10-01T00:00:00Z")
    assert missing.status_code == 400 and missing.json()[0]["errorCode"] == "MISSING_ARGUMENT"
    # a purged delete log: deletions before the purge are forgotten, a start before it refused
    purge = raw.request("POST", "/_sandbox/deleted/purge", json={"before": "2026-10-01T06:00:00Z"})
    assert purge.status_code == 200 and purge.json()["entries_removed"] == len(DELETED)
    assert refused(datetime(2026, 10, 1, 5, tzinfo=UTC), now).startswith("INVALID_REPLICATION_DATE")
    after = sf.Lead.deleted(datetime(2026, 10, 1, 6, tzinfo=UTC), now)
    assert after["earliestDateAvailable"] == "2026-10-01T06:00:00.000+0000"
    assert lead_id(3) not in {r["id"] for r in after["deletedRecords"]}
    assert sf.Lead.deleted(datetime(2026, 10, 1, 6, tzinfo=UTC), now)["deletedRecords"]  # today's stay
    bad = raw.request(
        "POST", "/_sandbox/merge", json={"object": "Task", "master": lead_id(1), "duplicates": []}
    )
    assert bad.status_code == 400 and bad.json()[0]["errorCode"] == "INVALID_TYPE"


def test_busy_time_overlapping_on_two_threads_counts_once_in_the_total(tmp_path: Path) -> None:
    from crm_sandbox.usage import UsageCounter

    usage = UsageCounter(store.Store(tmp_path / "crm.sqlite"), limit=10)
    job = usage.start_busy()
    time.sleep(0.05)
    poll = usage.start_busy()
    time.sleep(0.05)
    usage.end_busy("bulk_job_status", poll)
    usage.end_busy("bulk_processing", job)
    snapshot = usage.snapshot()
    assert snapshot["busy_s"]["bulk_processing"] >= 0.1 and snapshot["busy_s"]["bulk_job_status"] >= 0.05
    assert 0.1 <= snapshot["busy_total_s"] < 0.15  # not 0.15 or more: the poll overlapped the job
