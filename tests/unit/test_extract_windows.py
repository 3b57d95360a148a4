"""The CRM extract's windows and deletion checks, with a fake CRM at the client boundary
(the real simple-salesforce client against the sandbox is in tests/e2e/test_extract_gaps.py):
windows end at the CRM's clock less the overlap, start the overlap before the watermark,
re-read versions are written once, and deleted records get tombstones (getDeleted, or an Id
reconciliation when getDeleted cannot reach back)."""

from __future__ import annotations

import logging
import re
from datetime import datetime, timedelta
from types import SimpleNamespace

import pytest
from simple_salesforce.exceptions import SalesforceMalformedRequest

from lead_scoring import crm_schema, warehouse
from lead_scoring.config import SettingsError
from lead_scoring.crm.http import ApiUsage
from lead_scoring.extract import stage as extract_stage
from lead_scoring.extract import window
from lead_scoring.load import stage as load_stage
from lead_scoring.run_context import make_context

CRM_NOW = datetime(2026, 11, 1, 10, 30, 0)
LAP = timedelta(seconds=window.DEFAULT_OVERLAP_S)


def lead(n: int, stamp: datetime, deleted: bool = False) -> dict:
    return {
        "Id": f"00Q{n:012d}AAA",
        "LastName": f"Last{n}",
        "Email": f"p{n}@example.com",
        "IsDeleted": deleted,
        "CreatedDate": "2026-10-01T00:00:00.000+0000",
        "SystemModstamp": stamp.strftime("%Y-%m-%dT%H:%M:%S.000+0000"),
    }


def _bound(soql: str, op: str) -> datetime | None:
    found = re.search(rf"SystemModstamp {op} (\S+)", soql)
    return datetime.strptime(found.group(1), "%Y-%m-%dT%H:%M:%SZ") if found else None


class FakeCrm:
    """The calls the extract makes, answered from lists: ``records`` by object (queryAll,
    filtered by the SOQL's SystemModstamp window), ``deleted`` by object (getDeleted),
    ``live`` Ids by object (``SELECT Id``), or ``refuse`` getDeleted with an error code."""

    def __init__(self, now: datetime, records=None, deleted=None, live=None, refuse: str | None = None):
        self.session = SimpleNamespace(api_usage=ApiUsage())
        self.now, self.records, self.deleted, self.live, self.refuse = (
            now,
            records or {},
            deleted or {},
            live,
            refuse,
        )
        self.queries: list[str] = []
        self.deleted_calls: list[tuple[str, datetime, datetime]] = []

    def limits(self) -> dict:
        self.session.api_usage.server_time = self.now  # what the Date header of the answer sets
        return {}

    def query(self, soql: str, include_deleted: bool = False) -> dict:
        self.queries.append(soql)
        obj = re.search(r"FROM (\w+)", soql).group(1)
        if soql.startswith("SELECT Id FROM"):
            found = [{"Id": record_id} for record_id in (self.live or {}).get(obj, [])]
        else:
            low, high = _bound(soql, ">"), _bound(soql, "<=")
            found = [
                r
                for r in self.records.get(obj, [])
                if (low is None or datetime.strptime(r["SystemModstamp"][:19], "%Y-%m-%dT%H:%M:%S") > low)
                and datetime.strptime(r["SystemModstamp"][:19], "%Y-%m-%dT%H:%M:%S") <= high
            ]
        return {"totalSize": len(found), "records": found, "done": True}

    def __getattr__(self, obj: str):
        if obj not in crm_schema.OBJECTS:
            raise AttributeError(obj)

        def deleted(start: datetime, end: datetime) -> dict:
            assert start.tzinfo is not None and end.tzinfo is not None  # simple-salesforce needs aware
            self.deleted_calls.append((obj, start.replace(tzinfo=None), end.replace(tzinfo=None)))
            if self.refuse:
                content = [{"errorCode": self.refuse, "message": "startDate is before earliestDateAvailable"}]
                raise SalesforceMalformedRequest("url", 400, f"{obj}/deleted", content)
            return {
                "deletedRecords": self.deleted.get(obj, []),
                "earliestDateAvailable": "2026-10-20T00:00:00.000+0000",
                "latestDateCovered": end.strftime("%Y-%m-%dT%H:%M:00.000+0000"),
            }

        return SimpleNamespace(deleted=deleted)


def run(settings, monkeypatch, crm: FakeCrm, as_of: datetime, run_id: str) -> tuple[dict, dict]:
    monkeypatch.setattr(extract_stage, "crm_client", lambda ctx: crm)
    ctx = make_context(run_id, as_of, settings)
    extracted = extract_stage.extract_crm(ctx)
    return extracted, load_stage.load_raw(ctx, extracted, {"files": []})


def query(settings, sql: str) -> list[tuple]:
    with warehouse.connect(settings.warehouse) as con:
        return con.execute(sql).fetchall()


def test_a_future_as_of_ends_the_windows_at_the_crm_clock_less_the_overlap(settings, monkeypatch):
    """A run whose as_of is ahead of the CRM reads up to what the CRM has committed (its
    clock less the overlap) and its watermark says so: the next run starts from there."""
    committed = CRM_NOW - timedelta(minutes=20)
    in_flight = CRM_NOW - timedelta(minutes=2)  # stamped, maybe not committed yet
    crm = FakeCrm(CRM_NOW, records={"Lead": [lead(1, committed), lead(2, in_flight)]})
    extracted, _ = run(settings, monkeypatch, crm, CRM_NOW + timedelta(hours=3), "r1")

    end = CRM_NOW - LAP
    assert extracted["window_end"] == end.isoformat()
    assert all(_bound(soql, "<=") == end for soql in crm.queries)
    marks = dict(query(settings, "select object, watermark from ops.watermarks"))
    assert marks == dict.fromkeys(crm_schema.EXTRACT_ORDER, end)
    assert query(settings, "select id from raw_salesforce.lead") == [("00Q000000000001AAA",)]

    # an hour later the CRM is past it: the in-flight Lead comes, the first not twice
    crm.now = CRM_NOW + timedelta(hours=1)
    run(settings, monkeypatch, crm, CRM_NOW + timedelta(hours=3), "r2")
    rows = query(settings, "select id, count(*) from raw_salesforce.lead group by id order by id")
    assert rows == [("00Q000000000001AAA", 1), ("00Q000000000002AAA", 1)]


def test_a_late_commit_with_an_earlier_stamp_is_read_by_the_next_window(settings, monkeypatch):
    """The window starts the overlap before the watermark: a change stamped before the last
    window's end but committed after that extract is read, and the versions read again are
    counted as already loaded, not written twice."""
    as_of = datetime(2026, 11, 1, 9, 0)
    crm = FakeCrm(
        CRM_NOW,
        records={"Lead": [lead(1, as_of - timedelta(minutes=30)), lead(5, as_of - timedelta(minutes=3))]},
    )
    run(settings, monkeypatch, crm, as_of, "r1")
    crm.records["Lead"].append(
        lead(2, as_of - timedelta(minutes=2))
    )  # committed after r1, stamped before 09:00

    _, loaded = run(settings, monkeypatch, crm, as_of + timedelta(hours=1), "r2")
    lead_soql = next(q for q in reversed(crm.queries) if "FROM Lead " in q)
    assert _bound(lead_soql, ">") == as_of - LAP
    assert query(settings, "select id, count(*) from raw_salesforce.lead group by id order by id") == [
        ("00Q000000000001AAA", 1),
        ("00Q000000000002AAA", 1),
        ("00Q000000000005AAA", 1),
    ]
    assert loaded["rows_already_loaded"] == 1  # 00Q5, read again in the overlap
    notes = query(settings, "select notes from ops.batches where rows_already_loaded > 0")
    assert notes == [("1 rows already loaded (same id, systemmodstamp): not written again",)]

    # a load retried with the same extract (a task retry) writes nothing twice either
    ctx = make_context("r3", as_of + timedelta(hours=2), settings)
    again = extract_stage.extract_crm(ctx)
    first = load_stage.load_raw(ctx, again, {"files": []})
    second = load_stage.load_raw(ctx, again, {"files": []})
    assert first["new_batch_ids"] and second["new_batch_ids"] == [] and second["rows_loaded"] == 0
    dupes = query(
        settings,
        "select count(*) from (select id, systemmodstamp from raw_salesforce.lead "
        "group by id, systemmodstamp having count(*) > 1)",
    )
    assert dupes == [(0,)]
    ledger = query(
        settings,
        "select count(*) from ops.batches where rows_read <> rows_loaded + rows_quarantined "
        "+ rows_erased + rows_already_loaded",
    )
    assert ledger == [(0,)]


def test_hard_deleted_records_get_tombstones_from_get_deleted(settings, monkeypatch):
    as_of = datetime(2026, 11, 1, 9, 0)
    crm = FakeCrm(
        CRM_NOW, records={"Lead": [lead(1, as_of - timedelta(hours=2)), lead(2, as_of - timedelta(hours=2))]}
    )
    first, _ = run(settings, monkeypatch, crm, as_of, "r1")
    assert [e["deletions"]["method"] for e in first["extracts"] if e["object"] == "Lead"] == ["full_extract"]
    assert crm.deleted_calls == []  # a first extract reads everything there is

    deleted_at = as_of + timedelta(minutes=20)
    crm.records["Lead"] = [lead(1, as_of - timedelta(hours=2))]  # 00Q2 emptied from the Recycle Bin
    crm.deleted = {"Lead": [{"id": "00Q000000000002AAA", "deletedDate": "2026-11-01T09:20:00.000+0000"}]}
    second, loaded = run(settings, monkeypatch, crm, as_of + timedelta(hours=1), "r2")

    lead_call = next(call for call in crm.deleted_calls if call[0] == "Lead")
    assert lead_call[1:] == (as_of - LAP, as_of + timedelta(hours=1))
    latest = query(
        settings,
        "select id, isdeleted, systemmodstamp from (select *, row_number() over (partition by id "
        "order by systemmodstamp desc) as rank from raw_salesforce.lead) where rank = 1 order by id",
    )
    assert latest == [
        ("00Q000000000001AAA", False, as_of - timedelta(hours=2)),
        ("00Q000000000002AAA", True, deleted_at),
    ]
    checks = query(
        settings,
        "select method, checked_from, checked_until, deletions from ops.crm_deletion_checks "
        "where object = 'Lead' order by checked_until",
    )
    assert checks == [
        ("full_extract", None, as_of, 0),
        ("getDeleted", as_of - LAP, as_of + timedelta(hours=1), 1),
    ]
    # the next run asks from where this one's getDeleted stopped, less the overlap
    run(settings, monkeypatch, crm, as_of + timedelta(hours=2), "r3")
    assert [c[1] for c in crm.deleted_calls if c[0] == "Lead"][-1] == as_of + timedelta(hours=1) - LAP
    assert query(settings, "select count(*) from raw_salesforce.lead where isdeleted")[0][0] == 1


def test_when_get_deleted_cannot_reach_back_an_id_reconciliation_marks_the_missing(
    settings, monkeypatch, caplog
):
    as_of = datetime(2026, 11, 1, 9, 0)
    crm = FakeCrm(CRM_NOW, records={"Lead": [lead(n, as_of - timedelta(hours=2)) for n in (1, 2, 3)]})
    run(settings, monkeypatch, crm, as_of, "r1")

    crm.refuse = "INVALID_REPLICATION_DATE"
    crm.live = {obj: [] for obj in crm_schema.OBJECTS} | {
        "Lead": ["00Q000000000001AAA", "00Q000000000003AAA"]
    }
    # an hour after the first full extract: not due (LEADSCORE_EXTRACT_RECONCILE_HOURS=24)
    with caplog.at_level(logging.WARNING):
        run(settings, monkeypatch, crm, as_of + timedelta(hours=1), "r2")
    assert "wait for the next Id reconciliation" in caplog.text
    assert not any(q.startswith("SELECT Id FROM") for q in crm.queries)
    assert query(settings, "select count(*) from raw_salesforce.lead where isdeleted") == [(0,)]
    assert query(settings, "select method from ops.crm_deletion_checks where object = 'Lead' "
                 "order by checked_at")[-1] == ("unchecked",)  # fmt: skip

    monkeypatch.setenv("LEADSCORE_EXTRACT_RECONCILE_HOURS", "0")
    crm.now = as_of + timedelta(hours=3)
    caplog.clear()
    with caplog.at_level(logging.WARNING):
        extracted, _ = run(settings, monkeypatch, crm, as_of + timedelta(hours=2), "r3")
    assert "reconciling Ids instead" in caplog.text and "marks 1 of 3 live records deleted" in caplog.text
    retried = load_stage.load_raw(
        make_context("r3", as_of + timedelta(hours=2), settings), extracted, {"files": []}
    )
    assert retried["new_batch_ids"] == []  # a retried load writes no tombstone twice
    tombstones = query(
        settings, "select id, systemmodstamp from raw_salesforce.lead where isdeleted order by id"
    )
    assert tombstones == [("00Q000000000002AAA", as_of + timedelta(hours=2))]
    check = query(
        settings,
        "select checked_from, checked_until, deletions from ops.crm_deletion_checks "
        "where object = 'Lead' and method = 'reconciliation'",
    )
    assert check == [(None, as_of + timedelta(hours=2), 1)]


def test_an_empty_id_list_against_live_records_writes_no_tombstone(settings, monkeypatch, caplog):
    """A CRM that lists no live Id while the warehouse holds some is taken for an access
    problem, not a mass deletion: nothing is marked deleted, and the run says so."""
    monkeypatch.setenv("LEADSCORE_EXTRACT_RECONCILE_HOURS", "0")
    as_of = datetime(2026, 11, 1, 9, 0)
    crm = FakeCrm(CRM_NOW, records={"Lead": [lead(1, as_of - timedelta(hours=2))]})
    run(settings, monkeypatch, crm, as_of, "r1")
    crm.refuse, crm.live = "INVALID_REPLICATION_DATE", {}
    with caplog.at_level(logging.ERROR):
        run(settings, monkeypatch, crm, as_of + timedelta(hours=1), "r2")
    assert "listed no live Lead Id" in caplog.text
    assert query(settings, "select count(*) from raw_salesforce.lead where isdeleted") == [(0,)]


def test_other_get_deleted_errors_are_raised(settings, monkeypatch):
    as_of = datetime(2026, 11, 1, 9, 0)
    crm = FakeCrm(CRM_NOW, records={"Lead": [lead(1, as_of - timedelta(hours=2))]})
    run(settings, monkeypatch, crm, as_of, "r1")
    crm.refuse = "INSUFFICIENT_ACCESS"
    with pytest.raises(SalesforceMalformedRequest):
        run(settings, monkeypatch, crm, as_of + timedelta(hours=1), "r2")


def test_the_files_source_is_untouched(settings, monkeypatch, tmp_path):
    monkeypatch.setenv("LEADSCORE_CRM_SOURCE", "files")
    from lead_scoring.config import load_settings

    files = load_settings()
    folder = files.crm_landing / "Lead"
    folder.mkdir(parents=True)
    row = "00Q000000000001AAA,a@x.com,2026-10-01T00:00:00Z\n"
    (folder / "a.csv").write_text("Id,Email,SystemModstamp\n" + row)
    (folder / "b.csv").write_text("Id,Email,SystemModstamp\n" + row)  # the same version again
    monkeypatch.setattr(extract_stage, "crm_client", lambda ctx: pytest.fail("no CRM call for files"))
    ctx = make_context("r1", datetime(2026, 11, 1), files)
    extracted = extract_stage.extract_crm(ctx)
    assert extracted == {
        "source": "files",
        "extracts": [
            {"object": "Lead", "path": str(folder / n), "source": "files"} for n in ("a.csv", "b.csv")
        ],
    }
    loaded = load_stage.load_raw(ctx, extracted, {"files": []})
    assert loaded["rows_loaded"] == 2 and loaded["rows_already_loaded"] == 0
    assert query(files, "select count(*) from ops.crm_deletion_checks") == [(0,)]


@pytest.mark.parametrize("name", ["LEADSCORE_EXTRACT_OVERLAP_S", "LEADSCORE_EXTRACT_RECONCILE_HOURS"])
def test_window_settings_refuse_what_is_not_a_whole_number(monkeypatch, name):
    monkeypatch.setenv(name, "five minutes")
    with pytest.raises(SettingsError, match=name):
        window.overlap() if name.endswith("_S") else window.reconcile_after()


def test_the_crm_clock_comes_from_the_date_header():
    usage = ApiUsage()
    usage.update(SimpleNamespace(status_code=200, headers={"Date": "Sun, 01 Nov 2026 10:30:07 GMT"}))
    assert usage.server_time == datetime(2026, 11, 1, 10, 30, 7)
    usage.update(SimpleNamespace(status_code=200, headers={"Date": "yesterday"}))
    assert usage.server_time == datetime(2026, 11, 1, 10, 30, 7)  # an unreadable one is not taken


class CrmWithoutField(FakeCrm):
    """An org that never created ``missing`` on Lead: a query naming it is refused as
    Salesforce refuses it (INVALID_FIELD, "No such column ...")."""

    def __init__(self, *args, missing: str, error_code: str = "INVALID_FIELD", **kwargs):
        super().__init__(*args, **kwargs)
        self.missing, self.error_code = missing, error_code

    def query(self, soql: str, include_deleted: bool = False) -> dict:
        if self.missing in soql:
            self.queries.append(soql)
            message = f"No such column '{self.missing}' on entity 'Lead'. If you are attempting ..."
            raise SalesforceMalformedRequest(
                "url", 400, "query", [{"errorCode": self.error_code, "message": message}]
            )
        return super().query(soql, include_deleted)


def test_an_org_without_the_optional_reason_field_is_extracted_with_it_empty(settings, monkeypatch, caplog):
    """An older org without Lead.Disqualification_Reason__c (optional, crm_schema.OPTIONAL_READ_FIELDS):
    the Lead query is refused, sent again without the field, the Leads load with the column
    empty and a warning names the field."""
    as_of = datetime(2026, 11, 1, 9, 0)
    crm = CrmWithoutField(
        CRM_NOW, records={"Lead": [lead(1, as_of - timedelta(hours=2))]}, missing="Disqualification_Reason__c"
    )
    with caplog.at_level(logging.WARNING):
        run(settings, monkeypatch, crm, as_of, "r1")

    lead_queries = [q for q in crm.queries if "FROM Lead " in q]
    assert len(lead_queries) == 2
    assert "Disqualification_Reason__c" in lead_queries[0]
    assert "Disqualification_Reason__c" not in lead_queries[1]
    assert query(settings, 'select id, "Disqualification_Reason__c" from raw_salesforce.lead') == [
        ("00Q000000000001AAA", None)
    ]
    assert "no Lead field Disqualification_Reason__c (optional)" in caplog.text


def test_a_missing_field_that_is_not_optional_still_fails_the_extract(settings, monkeypatch):
    """Only the optional fields may be absent: an org without a field leadscore needs (its
    score fields) fails the extract with Salesforce's own error, not a silent empty column."""
    as_of = datetime(2026, 11, 1, 9, 0)
    crm = CrmWithoutField(
        CRM_NOW, records={"Lead": [lead(1, as_of - timedelta(hours=2))]}, missing="Lead_Score__c"
    )
    monkeypatch.setattr(extract_stage, "crm_client", lambda ctx: crm)
    with pytest.raises(Exception, match="Lead_Score__c"):
        extract_stage.extract_crm(make_context("r1", as_of, settings))
