"""Reverse ETL against the real CRM sandbox with injected faults: every record lands exactly
once, failures are explained and retried, crashes are reconciled, dead letters reported."""

from __future__ import annotations

import json
from collections import Counter
from datetime import datetime

import duckdb
import pytest
import requests

from conftest import isolated_env
from lead_scoring import warehouse
from lead_scoring.config import load_settings
from lead_scoring.pipeline import make_context, write_back_crm
from lead_scoring.sandbox import runtime
from lead_scoring.sandbox.store import load_parquet_dir, query_sql

AS_OF = datetime(2026, 11, 1, 10)


def make_leads(folder, count: int) -> None:
    folder.mkdir(parents=True, exist_ok=True)
    con = duckdb.connect()
    con.execute(f"""copy (select '00Q' || lpad(cast(i as varchar), 12, '0') || 'AAA' as Id,
                    'Lead ' || i as LastName, false as IsDeleted,
                    timestamp '2026-10-01 00:00:00' as CreatedDate,
                    timestamp '2026-10-01 00:00:00' as SystemModstamp
                 from range(1, {count + 1}) t(i)) to '{folder / "Lead.parquet"}' (format parquet)""")
    con.close()


def set_payload(settings, count: int, score_offset: int = 0) -> None:
    """A stand-in for the dbt payload model marts.sync_salesforce__leads."""
    with warehouse.connect(settings.warehouse) as con:
        warehouse.ensure_schema(con)
        con.execute("create schema if not exists marts")
        con.execute(f"""create or replace table marts.sync_salesforce__leads as
            select '00Q' || lpad(cast(i as varchar), 12, '0') || 'AAA' as Id,
                   cast((i * 7 + {score_offset}) % 101 as double) as Lead_Score__c,
                   cast(i % 4 + 1 as varchar) || ' - Tier' as Lead_Tier__c,
                   'reason ' || i as Score_Reasons__c,
                   timestamp '2026-11-01 10:00:00' as Scored_At__c
            from range(1, {count + 1}) t(i)""")
        for model in ("sync_salesforce__contacts", "sync_salesforce__accounts"):
            con.execute(
                f"create or replace table marts.{model} as select cast(null as varchar) as Id where false"
            )


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

    def reset_stats(self) -> None:
        self.post("/_sandbox/stats/reset", {})

    def stats(self) -> dict:
        r = requests.get(
            self.info.url + "/_sandbox/stats",
            verify=str(self.info.cert),
            headers={"Authorization": f"Bearer {self.info.token}"},
            timeout=30,
        )
        return r.json()["counts"]

    def crm_scores(self) -> dict[str, tuple]:
        rows = query_sql(self.info.db, "select Id, Lead_Score__c, Lead_Tier__c, Score_Reasons__c from Lead")
        return {r[0]: r[1:] for r in rows}

    def writes(self) -> Counter:
        """(record, values written) → how many times the CRM applied exactly that write."""
        rows = query_sql(self.info.db, "select record_id, values_json from _write_log where object = 'Lead'")
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


def expected_scores(settings) -> dict[str, tuple]:
    with warehouse.connect(settings.warehouse) as con:
        rows = con.execute(
            "select Id, Lead_Score__c, Lead_Tier__c, Score_Reasons__c from marts.sync_salesforce__leads"
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


def test_timeouts_are_reconciled_by_reading_back_not_by_resending(env):
    settings, sandbox, monkeypatch = env
    monkeypatch.setenv("LEADSCORE_SF_TIMEOUT_S", "1")  # the sandbox answers timeouts after 3 s
    set_payload(settings, 600)
    sandbox.faults("timeout:0.3", seed=5)
    first = write_back_crm(make_context("t1", AS_OF))
    sandbox.faults("", seed=5)
    second = write_back_crm(make_context("t2", AS_OF))
    assert first["objects"][0]["transport"] == "collections"
    assert first["crm_records_written"] + second["crm_records_written"] == 600
    assert sandbox.crm_scores() == expected_scores(settings)
    assert max(sandbox.writes().values()) == 1


def test_crash_after_the_crm_accepted_a_bulk_job_is_reconciled(env):
    from lead_scoring.reverse_etl import transport

    settings, sandbox, monkeypatch = env
    monkeypatch.setenv("LEADSCORE_BULK_THRESHOLD", "10")
    set_payload(settings, 600)

    def killed(self, job_id, timeout_s=600.0):
        raise KeyboardInterrupt("worker killed after closing the job")

    with monkeypatch.context() as patch:
        patch.setattr(transport.Bulk2, "wait", killed)
        with pytest.raises(KeyboardInterrupt):
            write_back_crm(make_context("crashed", AS_OF))
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
    calls = sum(sandbox.stats().values())
    assert calls == result["api_calls"]
    assert calls <= 10, json.dumps(sandbox.stats())
