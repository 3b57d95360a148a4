"""Reverse ETL against the real CRM sandbox with injected faults: every record lands exactly
once, failures are explained and retried, crashes are reconciled, dead letters reported."""

from __future__ import annotations

import json
from collections import Counter
from datetime import datetime, timedelta

import duckdb
import pytest
import requests

from crm_sandbox import runtime
from crm_sandbox.store import load_parquet_dir, query_sql
from lead_scoring import crm_schema, warehouse
from lead_scoring.config import load_settings
from lead_scoring.pipeline import write_back_crm
from lead_scoring.reverse_etl.diff import ACTION_MODELS, PAYLOAD_MODELS
from lead_scoring.run_context import make_context
from tests.support import isolated_env

AS_OF = datetime(2026, 11, 1, 10)


def record_id_sql(obj: str) -> str:
    """SQL for the 18-character Id of record ``i`` of ``obj`` (the object's key prefix)."""
    return f"'{crm_schema.ID_PREFIX[obj]}' || lpad(cast(i as varchar), 12, '0') || 'AAA'"


def make_records(folder, counts: dict[str, int]) -> None:
    """``<Object>.parquet`` with ``counts[obj]`` bare records per object, for the sandbox."""
    folder.mkdir(parents=True, exist_ok=True)
    con = duckdb.connect()
    for obj, count in counts.items():
        name = "Name" if obj == "Account" else "LastName"
        con.execute(f"""copy (select {record_id_sql(obj)} as Id, '{obj} ' || i as {name},
                        false as IsDeleted, timestamp '2026-10-01 00:00:00' as CreatedDate,
                        timestamp '2026-10-01 00:00:00' as SystemModstamp
                     from range(1, {count + 1}) t(i)) to '{folder / f"{obj}.parquet"}' (format parquet)""")
    con.close()


def make_leads(folder, count: int) -> None:
    make_records(folder, {"Lead": count})


# The payload columns of each stand-in model (besides Id and Scored_At__c, which is not hashed).
PERSON_PAYLOAD = """cast((i * 7 + {offset}) % 101 as double) as Lead_Score__c,
    cast(i % 4 + 1 as varchar) || ' - Tier' as Lead_Tier__c, 'reason ' || i as Score_Reasons__c"""
ACCOUNT_PAYLOAD = """cast((i * 3 + {offset}) % 101 as double) as Account_Score__c,
    cast(i % 60 as double) as Account_Fit_Score__c, cast(i % 9 as bigint) as Engaged_People__c"""
PAYLOAD_SQL = {"Lead": PERSON_PAYLOAD, "Contact": PERSON_PAYLOAD, "Account": ACCOUNT_PAYLOAD}
PAYLOAD_FIELDS = {
    "Lead": ["Lead_Score__c", "Lead_Tier__c", "Score_Reasons__c"],
    "Contact": ["Lead_Score__c", "Lead_Tier__c", "Score_Reasons__c"],
    "Account": ["Account_Score__c", "Account_Fit_Score__c", "Engaged_People__c"],
}


def set_payloads(settings, counts: dict[str, int], score_offset: int = 0) -> None:
    """Stand-ins for the dbt payload models marts.sync_salesforce__*; objects not in
    ``counts`` get an empty payload (the handoff Tasks' too: see ``set_task_payload``)."""
    with warehouse.connect(settings.warehouse) as con:
        warehouse.ensure_schema(con)
        con.execute("create schema if not exists marts")
        for obj, model in PAYLOAD_MODELS.items():
            count = counts.get(obj, 0)
            con.execute(f"""create or replace table {model} as
                select {record_id_sql(obj)} as Id, {PAYLOAD_SQL[obj].format(offset=score_offset)},
                       timestamp '2026-11-01 10:00:00' as Scored_At__c
                from range(1, {count + 1}) t(i)""")
    set_task_payload(settings, counts.get("Task", 0))
    set_member_payload(settings, range(1, counts.get("CampaignMember", 0) + 1))


def set_member_payload(settings, leads, entered: int = 1793527200) -> None:
    """A stand-in for marts.sync_salesforce__campaign_members: Leads ``leads`` (numbers of
    ``make_leads``) members of the Campaign 'Nurture T3' since epoch ``entered``, with the
    model's columns, and a marts.lead_scores with an e-mail address per Lead (the MAP list
    files read it)."""
    numbers = ", ".join(str(i) for i in leads) or "null"
    with warehouse.connect(settings.warehouse) as con:
        warehouse.ensure_schema(con)
        con.execute("create schema if not exists marts")
        con.execute(f"""create or replace table {ACTION_MODELS["CampaignMember"]} as
            select 'nurture:Nurture T3:' || {record_id_sql("Lead")} || ':{entered}' as Leadscore_Action_Id__c,
                {record_id_sql("Lead")} as LeadId, cast(null as varchar) as ContactId,
                'Nurturing' as Status, 'Nurture T3' as _campaign_name, 'nurture' as _action_kind,
                3 as _tier, cast(to_timestamp({entered}) as timestamp) as _triggered_at
            from (select unnest([{numbers}]) as i) t(i) where i is not null""")
        con.execute(f"""create or replace table marts.lead_scores as
            select {record_id_sql("Lead")} as crm_id, 'lead' || i || '@example.com' as email
            from range(1, 1001) t(i)""")


def set_task_payload(settings, count: int, reasons: str = "reason") -> None:
    """A stand-in for marts.sync_salesforce__tasks: a handoff Task for Leads 1..``count`` (of
    ``make_leads``), each for one of 7 reps, with the model's columns."""
    with warehouse.connect(settings.warehouse) as con:
        warehouse.ensure_schema(con)
        con.execute("create schema if not exists marts")
        con.execute(f"""create or replace table {ACTION_MODELS["Task"]} as
            with handoffs as (
                select i, {record_id_sql("Lead")} as lead_id,
                    '005' || lpad(cast(i % 7 + 1 as varchar), 12, '0') || 'AAA' as rep_id
                from range(1, {count + 1}) t(i)
            )
            select 'handoff:' || lead_id || ':' || rep_id || ':1793527200' as Leadscore_Action_Id__c,
                lead_id as WhoId, rep_id as OwnerId, 'Call within 5 minutes' as Subject,
                '{reasons} ' || i as Description, 'High' as Priority, 'Not Started' as Status,
                'Call' as Type, date '2026-11-01' as ActivityDate, true as IsReminderSet,
                timestamp '2026-11-01 10:05:00' as ReminderDateTime, 'handoff' as _action_kind,
                'routed' as _action_trigger, timestamp '2026-11-01 10:00:00' as _triggered_at
            from handoffs""")


def set_payload(settings, count: int, score_offset: int = 0) -> None:
    """A stand-in for the dbt payload model marts.sync_salesforce__leads (others empty)."""
    set_payloads(settings, {"Lead": count}, score_offset)


class Sandbox:
    def __init__(self, info):
        self.info = info

    def post(self, path, payload):
        r = requests.post(
            self.info.url + path,
            json=payload,
            verify=str(self.info.cert),
            headers={"Authorization": f"Bearer {self.info.token}"},
            timeout=30,
        )
        assert r.status_code == 200, r.text

    def faults(self, spec: str, seed: int = 1, **extra) -> None:
        self.post("/_sandbox/faults", {"spec": spec, "seed": seed, **extra})

    def injected(self) -> dict:
        """The faults injected so far, by kind."""
        r = requests.get(
            self.info.url + "/_sandbox/faults",
            verify=str(self.info.cert),
            headers={"Authorization": f"Bearer {self.info.token}"},
            timeout=30,
        )
        return r.json()["injected"]

    def delete_job(self, job_id: str) -> None:
        """Delete a Bulk ingest job, as the CRM does after its retention."""
        r = requests.delete(
            f"{self.info.url}/services/data/v59.0/jobs/ingest/{job_id}",
            verify=str(self.info.cert),
            headers={"Authorization": f"Bearer {self.info.token}"},
            timeout=30,
        )
        assert r.status_code == 204, r.text

    def reset_stats(self) -> None:
        self.post("/_sandbox/stats/reset", {})

    def stats(self) -> dict:
        return runtime.stats(self.info)["counts"]

    def crm_scores(self, obj: str = "Lead") -> dict[str, tuple]:
        rows = query_sql(self.info.db, f"select Id, {', '.join(PAYLOAD_FIELDS[obj])} from {obj}")
        return {r[0]: r[1:] for r in rows}

    def writes(self, obj: str = "Lead") -> Counter:
        """(record, values written) → how many times the CRM applied exactly that write."""
        rows = query_sql(
            self.info.db, "select record_id, values_json from _write_log where object = ?", [obj]
        )
        return Counter(rows)


@pytest.fixture
def env(tmp_path, monkeypatch):
    isolated_env(tmp_path, monkeypatch)
    monkeypatch.setenv("LEADSCORE_SF_BACKOFF_S", "0.01")
    monkeypatch.setenv("LEADSCORE_SANDBOX_TIMEOUT_S", "3")
    settings = load_settings()
    make_leads(tmp_path / "parquet", 600)
    load_parquet_dir(settings.sandbox_dir / "crm.sqlite", tmp_path / "parquet")
    info = runtime.start(settings.sandbox_dir, port=0)
    try:
        yield settings, Sandbox(info), monkeypatch
    finally:
        runtime.stop(settings.sandbox_dir)


def load_people(settings, tmp_path, counts: dict[str, int]) -> None:
    """The sandbox CRM holds ``counts`` records of each object (replacing what it had)."""
    make_records(tmp_path / "people", counts)
    load_parquet_dir(settings.sandbox_dir / "crm.sqlite", tmp_path / "people", replace=True)


def spy_on_bulk_jobs(monkeypatch) -> list[str]:
    """The writer's Bulk job submissions and waits, in the order they happen."""
    from lead_scoring.reverse_etl import writer

    calls: list[str] = []
    for name in ("submit_bulk", "collect_bulk"):
        original = getattr(writer, name)
        monkeypatch.setattr(writer, name, lambda *a, _f=original, _n=name: calls.append(_n) or _f(*a))
    return calls


def expected_scores(settings, obj: str = "Lead") -> dict[str, tuple]:
    with warehouse.connect(settings.warehouse) as con:
        rows = con.execute(
            f"select Id, {', '.join(PAYLOAD_FIELDS[obj])} from {PAYLOAD_MODELS[obj]}"
        ).fetchall()
    return {r[0]: r[1:] for r in rows}


def sync_log(settings) -> list[tuple]:
    with warehouse.connect(settings.warehouse) as con:
        return con.execute("select crm_id, status, error from ops.crm_sync_log").fetchall()


def test_faults_three_runs_land_every_record_exactly_once(env):
    settings, sandbox, monkeypatch = env
    monkeypatch.setenv("LEADSCORE_BULK_THRESHOLD", "100")  # first run (600 rows) by bulk job
    set_payload(settings, 600)
    sandbox.faults("429:0.1,500:0.05,row_error:0.01", seed=11)
    results = [write_back_crm(make_context(f"run{i}", AS_OF)) for i in range(3)]

    assert results[0]["objects"][0]["transport"] == "bulk"
    assert results[0]["crm_write_failures"] > 0  # the 1% row errors happened ...
    assert results[1]["crm_records_changed"] == results[0]["crm_write_failures"]  # ... and were retried
    assert sum(r["crm_records_written"] for r in results) == 600
    assert results[2]["crm_records_changed"] == 0
    assert sandbox.crm_scores() == expected_scores(settings)
    assert max(sandbox.writes().values()) == 1  # no change written twice
    failures = [row for row in sync_log(settings) if row[1] == "failed"]
    assert failures and all(error for _, _, error in failures)
    assert all("UNABLE_TO_LOCK_ROW" in error for _, _, error in failures)


def test_a_large_change_set_goes_as_several_bulk_jobs_each_record_once(env):
    """LEADSCORE_BULK_JOB_ROWS caps a job (a 900k-row upload outlasted the client timeout at
    scale L and was aborted): 600 changed rows at 250 per job are three jobs, every record
    written once, each job reconciled in the ledger. All three are uploaded and closed
    before the first is waited for, so the CRM works on one while the next is sent."""
    settings, sandbox, monkeypatch = env
    monkeypatch.setenv("LEADSCORE_BULK_THRESHOLD", "100")
    monkeypatch.setenv("LEADSCORE_BULK_JOB_ROWS", "250")
    set_payload(settings, 600)
    calls = spy_on_bulk_jobs(monkeypatch)
    result = write_back_crm(make_context("split", AS_OF))

    assert calls == ["submit_bulk"] * 3 + ["collect_bulk"] * 3

    lead = result["objects"][0]
    assert lead["transport"] == "bulk" and lead["written"] == 600 and len(lead["job_ids"]) == 3
    with warehouse.connect(settings.warehouse) as con:
        jobs = con.execute(
            "select j.state, count(*) from ops.crm_sync_jobs j join ops.crm_sync_job_rows r using (job_id) "
            "group by j.job_id, j.state order by 2 desc"
        ).fetchall()
    assert jobs == [("reconciled", 250), ("reconciled", 250), ("reconciled", 100)]
    assert sandbox.crm_scores() == expected_scores(settings)
    assert max(sandbox.writes().values()) == 1


def test_every_objects_jobs_go_out_before_the_first_wait_and_a_later_breaker_keeps_them(env, tmp_path):
    """Contacts and Accounts by Bulk: both objects' jobs are uploaded and closed before the
    first is waited for. When a later object's circuit breaker stops the next run, the
    changes already sent for an earlier object are waited for and recorded, not left
    unconfirmed: the CRM holds them and nothing is pending in the job ledger."""
    from lead_scoring.reverse_etl.writer import CircuitBreakerOpen

    settings, sandbox, monkeypatch = env
    counts = {"Contact": 500, "Account": 300}
    load_people(settings, tmp_path, counts)
    monkeypatch.setenv("LEADSCORE_BULK_THRESHOLD", "50")
    set_payloads(settings, counts)
    calls = spy_on_bulk_jobs(monkeypatch)
    first = write_back_crm(make_context("both", AS_OF))
    assert [o["transport"] for o in first["objects"]] == [None, "bulk", "bulk"]  # no Lead payload
    assert calls == ["submit_bulk", "submit_bulk", "collect_bulk", "collect_bulk"]
    assert first["crm_records_written"] == 800

    # next hour: 100 of 500 Contacts change (20%), every Account changes (100% > 50%)
    with warehouse.connect(settings.warehouse) as con:
        con.execute(f"create table before as select * from {PAYLOAD_MODELS['Contact']}")
    set_payloads(settings, counts, score_offset=1)
    with warehouse.connect(settings.warehouse) as con:
        contacts = PAYLOAD_MODELS["Contact"]
        con.execute(f"""create or replace table {contacts} as
            select * from {contacts} where Id in (select Id from before order by Id limit 100)
            union all select * from before where Id not in (select Id from before order by Id limit 100)""")
    monkeypatch.setenv("LEADSCORE_MAX_CHANGE_SHARE", "0.5")
    with pytest.raises(CircuitBreakerOpen, match="Account"):
        write_back_crm(make_context("stopped", AS_OF))
    assert sandbox.crm_scores("Contact") == expected_scores(settings, "Contact")
    with warehouse.connect(settings.warehouse) as con:
        assert con.execute(
            "select count(*) from ops.crm_sync_jobs where state in ('open', 'uploaded')"
        ).fetchall() == [(0,)]
        assert con.execute(
            "select count(*) from ops.crm_sync_log where object = 'Contact' and status = 'success'"
        ).fetchall() == [(600,)]
    assert max(sandbox.writes("Contact").values()) == 1  # no change written twice


def test_bulk_parts_split_by_rows_and_by_size():
    import pandas as pd

    from lead_scoring.reverse_etl.transport import bulk_parts

    frame = pd.DataFrame({"Id": [f"00Q{i:015d}" for i in range(10)], "Note__c": ["x" * 100] * 10})
    assert [len(part) for part, _ in bulk_parts(frame, max_rows=4)] == [4, 4, 2]
    sized = list(bulk_parts(frame, max_rows=10, max_bytes=400))  # ~120 bytes a row: 3 rows fit
    assert all(len(data.encode()) <= 400 for _, data in sized) and sum(len(p) for p, _ in sized) == 10
    assert pd.concat([p for p, _ in sized])["Id"].tolist() == frame["Id"].tolist()


def test_faults_three_runs_land_every_account_and_contact_exactly_once(env, tmp_path):
    """The same guarantee for the other synced objects: Contacts by a Bulk job, Accounts by
    sObject Collections on the first run, retries by Collections afterwards."""
    settings, sandbox, monkeypatch = env
    counts = {"Contact": 500, "Account": 300}
    load_people(settings, tmp_path, counts)
    monkeypatch.setenv("LEADSCORE_BULK_THRESHOLD", "400")
    set_payloads(settings, counts)
    sandbox.faults("429:0.1,500:0.05,row_error:0.01", seed=23)
    results = [write_back_crm(make_context(f"acct{i}", AS_OF)) for i in range(3)]

    first = {r["object"]: r for r in results[0]["objects"]}
    assert first["Contact"]["transport"] == "bulk" and first["Account"]["transport"] == "collections"
    assert results[0]["crm_write_failures"] > 0  # row errors happened, and were retried
    assert results[1]["crm_records_changed"] == results[0]["crm_write_failures"]
    assert results[2]["crm_records_changed"] == 0
    for obj, count in counts.items():
        written = sum(next(o for o in r["objects"] if o["object"] == obj)["written"] for r in results)
        assert written == count, obj
        assert sandbox.crm_scores(obj) == expected_scores(settings, obj), obj
        writes = sandbox.writes(obj)
        assert max(writes.values()) == 1, obj  # no change written twice
        assert {record for record, _ in writes} == set(expected_scores(settings, obj)), obj
    failed_objects = {row[0] for row in sync_log_objects(settings) if row[1] == "failed"}
    assert failed_objects <= set(counts) and failed_objects


def sync_log_objects(settings) -> list[tuple]:
    with warehouse.connect(settings.warehouse) as con:
        return con.execute("select object, status from ops.crm_sync_log").fetchall()


def test_timeouts_are_reconciled_by_reading_back_not_by_resending(env):
    """The sandbox applies a timed-out write 4 s after it came, 3 s after the client gave up:
    the read-back waits for it instead of calling it lost (and re-sending it next run)."""
    settings, sandbox, monkeypatch = env
    monkeypatch.setenv("LEADSCORE_SF_TIMEOUT_S", "1")  # the sandbox answers timeouts after 4 s
    set_payload(settings, 600)
    sandbox.faults("timeout:0.3", seed=2)
    first = write_back_crm(make_context("t1", AS_OF))
    assert sandbox.injected().get("timeout", 0) >= 1  # the faults this test is about happened
    sandbox.faults("", seed=2)
    second = write_back_crm(make_context("t2", AS_OF))
    assert first["objects"][0]["transport"] == "collections"
    assert first["crm_records_written"] == 600 and second["crm_records_changed"] == 0
    assert sandbox.crm_scores() == expected_scores(settings)
    assert max(sandbox.writes().values()) == 1


def test_an_error_mid_object_loses_no_outcome_and_sends_nothing_twice(env):
    """The third Collections request of 600 rows raises: the 400 rows the CRM already took
    are recorded as they returned, so the next run sends only the last 200."""
    from simple_salesforce import Salesforce

    settings, sandbox, monkeypatch = env
    set_payload(settings, 600)
    original, calls = Salesforce.restful, []

    def third_fails(self, path, *args, **kwargs):
        calls.append(path)
        if len(calls) == 3:
            raise RuntimeError("worker lost its network")
        return original(self, path, *args, **kwargs)

    with monkeypatch.context() as patch:
        patch.setattr(Salesforce, "restful", third_fails)
        with pytest.raises(RuntimeError, match="worker lost its network"):
            write_back_crm(make_context("lost", AS_OF))
    with warehouse.connect(settings.warehouse) as con:
        assert con.execute("select count(*) from ops.crm_sync_state").fetchall() == [(400,)]
    after = write_back_crm(make_context("next", AS_OF))
    assert after["crm_records_changed"] == 200 and after["crm_records_written"] == 200
    assert sandbox.crm_scores() == expected_scores(settings)
    assert max(sandbox.writes().values()) == 1


def test_a_bulk_job_that_fails_partway_keeps_the_rows_it_applied(env):
    settings, sandbox, monkeypatch = env
    monkeypatch.setenv("LEADSCORE_BULK_THRESHOLD", "10")
    set_payload(settings, 600)
    sandbox.faults("job_failure:1.0", seed=1)
    first = write_back_crm(make_context("partial", AS_OF))
    assert first["crm_records_written"] == 300 and first["crm_write_failures"] == 300
    errors = {row[2] for row in sync_log(settings) if row[1] == "failed"}
    assert len(errors) == 1 and "bulk job Failed: InternalServerError" in errors.pop()
    sandbox.faults("", seed=1)
    second = write_back_crm(make_context("rest", AS_OF))
    assert second["crm_records_changed"] == 300 and second["crm_records_written"] == 300
    assert sandbox.crm_scores() == expected_scores(settings)
    assert max(sandbox.writes().values()) == 1


def crash_after_closing_a_bulk_job(settings, monkeypatch) -> None:
    """A write-back of 600 Leads by one Bulk job whose worker dies right after closing it."""
    from lead_scoring.reverse_etl import transport

    monkeypatch.setenv("LEADSCORE_BULK_THRESHOLD", "10")
    set_payload(settings, 600)

    def killed(self, job_id, timeout_s=600.0, first_delay_s=0.5):
        raise KeyboardInterrupt("worker killed after closing the job")

    with monkeypatch.context() as patch:
        patch.setattr(transport.Bulk2, "wait", killed)
        with pytest.raises(KeyboardInterrupt):
            write_back_crm(make_context("crashed", AS_OF))


def test_a_bulk_job_the_crm_forgot_is_closed_by_reading_its_rows_back(env):
    """A run dies after closing its job; the CRM processes it and deletes it (its retention)
    before the next run: that run reads the rows back instead of failing on the 404."""
    settings, sandbox, monkeypatch = env
    crash_after_closing_a_bulk_job(settings, monkeypatch)
    sandbox.post("/_sandbox/bulk/wait", {})
    with warehouse.connect(settings.warehouse) as con:
        ((job_id,),) = con.execute("select job_id from ops.crm_sync_jobs").fetchall()
    sandbox.delete_job(job_id)
    with warehouse.connect(settings.warehouse) as con:  # and meanwhile 200 scores moved
        con.execute(
            "update marts.sync_salesforce__leads set Lead_Score__c = Lead_Score__c + 1 "
            "where Id in (select Id from marts.sync_salesforce__leads order by Id limit 200)"
        )
    after = write_back_crm(make_context("next", AS_OF))
    with warehouse.connect(settings.warehouse) as con:
        states = dict(con.execute("select job_id, state from ops.crm_sync_jobs").fetchall())
    assert states.pop(job_id) == "expired" and set(states.values()) == {"reconciled"}
    # rows whose payload is still the job's were read back, not re-sent; the moved ones were sent
    assert after["crm_records_changed"] == 200 and after["crm_records_written"] == 200
    assert sandbox.crm_scores() == expected_scores(settings)
    assert max(sandbox.writes().values()) == 1


def test_the_api_budget_is_checked_before_the_first_request_and_each_batch(env, tmp_path):
    """A daily limit of 6 calls and a stop at half of it: the first check reads the limits
    resource (1 call: no answer has brought the usage yet), then each Collections request is
    checked: two go out (3 calls), the third is not sent and its rows stay pending. A new
    client's first check (the limits, call 4) stops before any write."""
    settings, sandbox, monkeypatch = env
    runtime.stop(settings.sandbox_dir)
    monkeypatch.setenv("LEADSCORE_SANDBOX_API_LIMIT", "6")
    monkeypatch.setenv("LEADSCORE_API_USAGE_STOP", "0.5")
    sandbox = Sandbox(runtime.start(settings.sandbox_dir, port=0))
    set_payload(settings, 600)
    result = write_back_crm(make_context("budget", AS_OF))
    (lead,) = [o for o in result["objects"] if o["object"] == "Lead"]
    assert "API usage at 50% of the daily limit" in lead["stopped_reason"]
    assert lead["written"] == 400 and lead["stopped_reason"].endswith("; 200 rows left pending")
    assert sandbox.stats() == {"limits": 1, "collections": 2}
    sandbox.reset_stats()
    again = write_back_crm(make_context("budget2", AS_OF))
    assert again["crm_records_changed"] == 200 and again["crm_records_written"] == 0
    assert sandbox.stats() == {"limits": 1}


def test_crash_after_the_crm_accepted_a_bulk_job_is_reconciled(env):
    settings, sandbox, monkeypatch = env
    crash_after_closing_a_bulk_job(settings, monkeypatch)
    with warehouse.connect(settings.warehouse) as con:
        assert con.execute("select state from ops.crm_sync_jobs").fetchall() == [("uploaded",)]
        assert con.execute("select count(*) from ops.crm_sync_state").fetchall() == [(0,)]

    after = write_back_crm(make_context("next", AS_OF))
    assert after["crm_records_changed"] == 0  # recovered from the job, nothing re-sent
    with warehouse.connect(settings.warehouse) as con:
        assert con.execute("select state from ops.crm_sync_jobs").fetchall() == [("reconciled",)]
        assert con.execute("select count(*) from ops.crm_sync_state").fetchall() == [(600,)]
    assert sandbox.crm_scores() == expected_scores(settings)
    assert max(sandbox.writes().values()) == 1


def test_rows_that_keep_failing_become_dead_letters_and_are_never_forgotten(env):
    settings, sandbox, monkeypatch = env
    monkeypatch.setenv("LEADSCORE_SYNC_MAX_ATTEMPTS", "2")
    set_payload(settings, 50)
    sandbox.faults("row_error:1.0", seed=1)
    for i in range(2):
        assert write_back_crm(make_context(f"d{i}", AS_OF))["crm_write_failures"] == 50
    sandbox.reset_stats()
    third = write_back_crm(make_context("d2", AS_OF))
    assert third["crm_dead_letters"] == 50 and third["crm_records_written"] == 0
    assert sum(v for k, v in sandbox.stats().items() if k.startswith(("collections", "bulk"))) == 0

    from lead_scoring.reverse_etl.status import sync_status

    status = sync_status(settings)
    assert status["objects"]["Lead"]["pending"] == 50 and status["objects"]["Lead"]["dead_letters"] == 50
    sandbox.faults("", seed=1)
    retried = write_back_crm(make_context("d3", AS_OF), retry_dead_letters=True)
    assert retried["crm_records_written"] == 50
    assert sync_status(settings)["objects"]["Lead"]["pending"] == 0


def test_api_calls_per_ten_thousand_changed_rows(env):
    settings, sandbox, monkeypatch = env
    make_leads(settings.var_dir / "p10k", 10_000)
    load_parquet_dir(settings.sandbox_dir / "crm.sqlite", settings.var_dir / "p10k")
    set_payload(settings, 10_000)
    sandbox.reset_stats()
    result = write_back_crm(make_context("big", AS_OF))
    assert result["crm_records_written"] == 10_000
    stats = sandbox.stats()
    calls = sum(stats.values())
    assert calls == result["api_calls"]
    assert calls <= 10, json.dumps(stats)
    # a clean job's counters (10,000 processed, 0 failed) confirm every row: no result lists read
    assert "bulk_results" not in stats and stats["bulk_create"] == 1, json.dumps(stats)


def test_a_write_back_logs_its_run_id_and_never_the_token(env):
    """Retries, row errors and bulk jobs logged at DEBUG as JSON: every lead_scoring record
    names the run and stage, and no line holds the CRM session token."""
    import io
    import logging

    from lead_scoring import run_logging

    settings, sandbox, monkeypatch = env
    monkeypatch.setenv("LEADSCORE_BULK_THRESHOLD", "100")
    set_payload(settings, 300)
    sandbox.faults("429:0.2,500:0.1,row_error:0.05", seed=3)
    buffer, root = io.StringIO(), logging.getLogger()
    handlers, level = list(root.handlers), root.level
    run_logging.configure(logging.DEBUG, stream=buffer, fmt="json")
    for noisy in run_logging.NOISY_LOGGERS:
        logging.getLogger(noisy).setLevel(logging.DEBUG)
    try:
        write_back_crm(make_context("logged", AS_OF))
    finally:
        root.handlers[:], root.level = handlers, level
        for noisy in run_logging.NOISY_LOGGERS:
            logging.getLogger(noisy).setLevel(logging.WARNING)
    text = buffer.getvalue()
    records = [json.loads(line) for line in text.splitlines()]
    ours = [r for r in records if r["logger"].startswith("lead_scoring")]
    assert any("retry" in r["message"] for r in ours) and any("failed" in r["message"] for r in ours)
    assert {(r["run_id"], r["stage"]) for r in ours} == {("logged", "write_back_crm")}
    assert sandbox.info.token not in text and "@" not in text


def test_an_older_run_writes_nothing_after_a_newer_one_and_raises_no_alerts(env):
    from lead_scoring.sla_monitor import alert_sla

    settings, sandbox, monkeypatch = env
    set_payload(settings, 50)
    later = AS_OF + timedelta(hours=3)
    newer = write_back_crm(make_context("newer", later))
    assert newer["crm_records_written"] == 50 and "skipped_reason" not in newer
    written = sandbox.crm_scores()

    set_payload(settings, 50, score_offset=7)  # what a re-run of an older hour would send
    older = write_back_crm(make_context("cleared_older_run", AS_OF))
    assert older["crm_records_written"] == 0 and older["objects"] == []
    assert "stale run: the CRM already holds the write-back of" in older["skipped_reason"]
    assert "(run newer)" in older["skipped_reason"]
    assert sandbox.crm_scores() == written  # the CRM did not go backwards
    assert "stale run" in alert_sla(make_context("cleared_older_run", AS_OF))["skipped_reason"]

    set_payload(settings, 50, score_offset=3)
    monkeypatch.setenv("LEADSCORE_FORCE_SYNC", "true")  # every record changes: past the breaker
    again = write_back_crm(make_context("newer_again", later))  # the newest hour still writes
    assert "skipped_reason" not in again and again["crm_records_written"] == 50
