"""The bad-input corpus (lead_scoring_dev.corpus) through the real pipeline in one run:
Data Loader CSVs (files CRM source) and MAP landing files, the real loaders, DuckDB, GX, dbt
and the write-back to the CRM sandbox over HTTPS. No crash; every row loaded or quarantined
with the expected reason; the good rows score; warnings still write; a critical failure
writes nothing; opted-out people go to a queue; no e-mail or credential in the logs."""

from __future__ import annotations

import csv
import io
import json
import logging
import shutil
from datetime import timedelta

import duckdb
import pytest

from lead_scoring import pipeline, run_context, run_logging, warehouse
from lead_scoring.cli import format_summary
from lead_scoring.config import load_settings
from lead_scoring.quality.gx_checks import CriticalDataQualityError
from lead_scoring_dev import corpus
from tests.support import REPO, isolated_env

pytestmark = pytest.mark.e2e
DO_NOT_CONTACT_QUEUE = "00G000000000003AAA"  # seeds/routing_queues.csv, purpose opted_out


def crm_records(folder, ids: list[str]) -> None:
    """The Lead records the CRM sandbox holds (so the write-back has something to update)."""
    folder.mkdir(parents=True, exist_ok=True)
    con = duckdb.connect()
    values = ", ".join(f"('{i}')" for i in ids)
    con.execute(f"""copy (select Id, 'Corpus' as LastName, false as IsDeleted,
                    timestamp '2026-10-30 09:00:00' as CreatedDate,
                    timestamp '2026-10-30 09:00:00' as SystemModstamp
                 from (values {values}) t(Id)) to '{folder / "Lead.parquet"}' (format parquet)""")
    con.close()


@run_context.timed
def build_models_only(ctx: run_context.RunContext) -> dict:
    """The hourly dbt build without the project's data and unit tests (tests/dbt/test_scoring_models
    and test_e2e run those; here they would take two thirds of the build: 16 of 25 s)."""
    from lead_scoring.dbt_runner import run_dbt

    args = ["build", "--select", "tag:hourly", "--exclude-resource-type", "test", "unit_test"]
    nodes = run_dbt(ctx.settings, args, ctx.as_of)
    failed = [n["node"] for n in nodes if n["status"] in {"error", "fail"}]
    assert nodes and not failed, failed
    return {"nodes": len(nodes), "failed": failed}


def write_log_count(sandbox) -> int:
    from crm_sandbox.store import query_sql

    return query_sql(sandbox.db, "select count(*) from _write_log")[0][0]


@pytest.fixture(scope="module")
def world(tmp_path_factory):
    """The corpus in a landing folder, a sandbox holding its Leads, and one full run whose
    DEBUG logs (ours and the noisy libraries') are captured as JSON lines."""
    from crm_sandbox import runtime
    from crm_sandbox.store import load_parquet_dir

    root = tmp_path_factory.mktemp("corpus")
    with pytest.MonkeyPatch.context() as mp:
        isolated_env(root, mp)
        mp.setenv("LEADSCORE_CRM_SOURCE", "files")
        mp.delenv("LEADSCORE_DRY_RUN", raising=False)
        settings = load_settings()
        cases = corpus.write_corpus(settings.landing)
        good = sorted({i for case in cases for i in case.good_lead_ids})
        crm_records(root / "crm_parquet", good)
        load_parquet_dir(settings.sandbox_dir / "crm.sqlite", root / "crm_parquet")
        sandbox = runtime.start(settings.sandbox_dir, port=0)
        try:  # the sandbox stops even when the run itself fails
            buffer, logger = io.StringIO(), logging.getLogger()
            handlers, level = list(logger.handlers), logger.level
            run_logging.configure(logging.DEBUG, stream=buffer, fmt="json")
            real_build = pipeline.build_scores
            mp.setattr(pipeline, "build_scores", build_models_only)
            try:
                summary = pipeline.run_all(run_context.make_context("corpus", corpus.AS_OF))
            finally:
                logger.handlers[:], logger.level = handlers, level
                mp.setattr(pipeline, "build_scores", real_build)
            yield settings, sandbox, cases, summary, buffer.getvalue(), mp
        finally:
            runtime.stop(settings.sandbox_dir)


def test_every_corpus_row_is_loaded_or_quarantined_with_the_expected_reason(world):
    settings, _, cases, summary, _, _ = world
    with warehouse.connect(settings.warehouse) as con:
        seen = corpus.observed(con, settings.landing)
        batches = con.execute(
            "select batch_id, object, status, rows_read, rows_loaded, rows_quarantined, rows_erased "
            "from ops.batches"
        ).fetchall()
        for batch_id, obj, status, read, loaded, quarantined, erased in batches:
            assert read == loaded + quarantined + erased, batch_id
            held = con.execute("select count(*) from ops.quarantine where _batch_id = ?", [batch_id])
            assert held.fetchall()[0][0] == quarantined, batch_id
            if status == "loaded" and obj != "ops.erasure_requests":  # requests are hashes, not rows
                table = obj if obj.startswith("raw_map.") else warehouse.raw_table(obj)
                rows = con.execute(f"select count(*) from {table} where _batch_id = ?", [batch_id]).fetchall()
                assert rows[0][0] == loaded, batch_id
    print("\n" + corpus.table(cases, seen))
    problems = [p for case in cases for p in corpus.differences(case, seen.get(case.path))]
    assert not problems, "\n".join(problems)
    assert len(batches) == len(cases)  # every file read, none silently skipped
    expected_quarantined = sum(case.rows_quarantined for case in cases)
    assert summary["quarantined_rows"] == expected_quarantined == 28
    assert summary["rows_loaded"] == sum(case.rows_loaded for case in cases) == 37
    assert summary["rows_read"] == sum(case.rows_read for case in cases)
    assert {r["file"] for r in summary["rejected_files"]} == {
        str(settings.landing / c.path) for c in cases if c.status == "rejected"
    }
    printed = format_summary(summary)  # what `leadscore run` and `make demo` print
    lines = {line.split()[0]: line.split()[-1] for line in printed.splitlines() if line.strip()}
    assert (lines["rows_read"], lines["rows_loaded"], lines["quarantined_rows"]) == ("65", "37", "28")
    assert "rejected campaigns.csv" in printed and "unknown CRM object" in printed


def test_the_good_rows_score_and_unknown_event_types_score_zero(world):
    settings, _, cases, _, _, _ = world
    good = {i for case in cases for i in case.good_lead_ids}
    with warehouse.connect(settings.warehouse) as con:
        scores = {
            crm_id: (composite, intent)
            for crm_id, composite, intent in con.execute(
                "select crm_id, composite_score, intent_score from marts.lead_scores "
                "where crm_object = 'Lead'"
            ).fetchall()
        }
        kept_title = con.execute(
            "select title from raw_salesforce.lead where id = ?", [corpus.lead_id(7)]
        ).fetchall()
        unknown = con.execute(
            "select event_type from staging.stg_map__events where activity_id = 'ev-type-2'"
        ).fetchall()
    assert set(scores) == good  # every good Lead scored; no quarantined Lead (90-97) scored
    assert all(composite is not None for composite, _ in scores.values())
    assert scores[corpus.lead_id(1)][1] > 0 and scores[corpus.lead_id(3)][1] > 0  # pricing visits
    assert kept_title == [("VP Marketing",)]  # the newest copy of the duplicated id
    assert unknown == [("hologram_visit",)]  # kept ...
    assert scores[corpus.UNKNOWN_EVENT_LEAD][1] == 0  # ... and scored 0


def test_a_warning_is_reported_and_the_scores_still_reach_the_crm(world):
    from crm_sandbox.store import query_sql

    settings, sandbox, _, summary, _, _ = world
    assert summary["gx"]["raw_map_events"] == "warn" and "fail" not in summary["gx"].values()
    assert any("event_type" in w and "hologram_visit" in w for w in summary["gx_warnings"])
    with warehouse.connect(settings.warehouse) as con:
        expected = dict(con.execute("select Id, Lead_Score__c from marts.sync_salesforce__leads").fetchall())
    crm = dict(query_sql(sandbox.db, "select Id, Lead_Score__c from Lead where Lead_Score__c is not null"))
    assert crm == expected and summary["crm_records_written"] == len(expected) > 0


@pytest.mark.parametrize(
    ("crm_id", "why"),
    [(corpus.OPTED_OUT_LEAD, "Opted out of e-mail:"), (corpus.DO_NOT_CALL_LEAD, "Do Not Call:")],
)
def test_opted_out_people_are_routed_to_the_do_not_contact_queue(world, crm_id, why):
    settings, _, _, _, _, _ = world
    with warehouse.connect(settings.warehouse) as con:
        routed = con.execute(
            "select owner_id, routing_rule, routing_reason from marts.lead_routing where crm_id = ?",
            [crm_id],
        ).fetchall()
        sla_rows = con.execute("select count(*) from marts.lead_sla where crm_id = ?", [crm_id]).fetchone()[0]
    reps = {row["rep_id"] for row in csv.DictReader((REPO / "dbt_project/seeds/routing_reps.csv").open())}
    owner, rule, reason = routed[0]
    assert (owner, rule) == (DO_NOT_CONTACT_QUEUE, "opted_out_queue")
    assert reason.startswith(why) and owner not in reps
    assert sla_rows == 0


def test_no_email_or_credential_is_logged(world):
    from lead_scoring.crm.client import resolve_connection

    settings, _, _, _, logs, _ = world
    assert logs  # the run did log (at DEBUG, as JSON)
    assert "@corpus-co" not in logs and "@" not in logs
    connection = resolve_connection(settings.sandbox_dir)
    assert connection.session_id and connection.session_id not in logs


def test_a_critical_raw_failure_holds_the_batch_and_writes_nothing(world, tmp_path):
    """A raw suite with a stricter critical check (Company required) meets a Lead file
    breaking it: the run stops at validate_raw naming suite, expectation and column, the
    CRM gets no write, the batch's rows leave raw for the quarantine (status held), and a
    later run does not load the same file again."""
    settings, sandbox, _, _, _, mp = world
    strict = tmp_path / "expectations"
    shutil.copytree(REPO / "expectations", strict)
    suite = json.loads((strict / "raw_salesforce_lead.json").read_text())
    suite["expectations"].append(
        {
            "type": "expect_column_values_to_not_be_null",
            "kwargs": {"column": "company"},
            "meta": {"severity": "critical"},
        }
    )
    (strict / "raw_salesforce_lead.json").write_text(json.dumps(suite))
    mp.setenv("LEADSCORE_EXPECTATIONS", str(strict))
    path = settings.landing / "crm" / "Lead" / "no_company.csv"
    path.write_text(corpus.LEAD_HEADER + "\n" + corpus.lead(31, Company="") + "\n" + corpus.lead(32) + "\n")
    writes_before = write_log_count(sandbox)
    try:
        with pytest.raises(CriticalDataQualityError) as error:
            pipeline.run_all(
                run_context.make_context("corpus-raw-critical", corpus.AS_OF + timedelta(hours=1))
            )
    finally:
        mp.delenv("LEADSCORE_EXPECTATIONS")
    assert "[raw_salesforce_lead] expect_column_values_to_not_be_null on company" in str(error.value)
    assert "Held out of raw" in str(error.value) and "no_company.csv" in str(error.value)
    assert write_log_count(sandbox) == writes_before
    ids = [corpus.lead_id(31), corpus.lead_id(32)]
    with warehouse.connect(settings.warehouse) as con:
        batch = con.execute(
            "select batch_id, status, rows_read, rows_loaded, rows_quarantined from ops.batches "
            "where file = ?",
            [str(path)],
        ).fetchall()
        assert [b[1:] for b in batch] == [("held", 2, 0, 2)]
        assert not con.execute("select id from raw_salesforce.lead where id in (?, ?)", ids).fetchall()
        held = con.execute("select reason from ops.quarantine where _batch_id = ?", [batch[0][0]])
        reasons = [row[0] for row in held.fetchall()]
        assert len(reasons) == 2 and all(r.startswith("batch held: critical check failed") for r in reasons)
    ctx = run_context.make_context("corpus-after-hold", corpus.AS_OF + timedelta(hours=2))
    again = pipeline.load_raw(ctx, pipeline.extract_crm(ctx), pipeline.extract_map(ctx))
    path.unlink()
    assert again["rows_read"] == 0 and batch[0][0] not in again["new_batch_ids"]


def test_a_critical_score_failure_writes_nothing_to_the_crm(world):
    """A model bug puts a score out of range: the run stops at the score gate naming suite,
    expectation and bad value, and the CRM gets no write although a change was waiting."""
    from lead_scoring.reverse_etl.diff import diff_payload

    settings, sandbox, _, _, _, mp = world
    buggy = corpus.lead_id(1)

    def build_with_a_bug(ctx):  # stands in for dbt here: the real build ran in the fixture
        with warehouse.connect(ctx.settings.warehouse) as con:
            con.execute("update marts.lead_scores set composite_score = 150 where crm_id = ?", [buggy])
            con.execute("delete from ops.crm_sync_state where crm_id = ?", [buggy])  # a pending change
        return {"nodes": 0, "failed": []}

    real_build = pipeline.build_scores
    mp.setattr(pipeline, "build_scores", build_with_a_bug)
    writes_before = write_log_count(sandbox)
    try:
        with pytest.raises(CriticalDataQualityError) as error:
            pipeline.run_all(run_context.make_context("corpus-critical", corpus.AS_OF + timedelta(hours=3)))
    finally:
        mp.setattr(pipeline, "build_scores", real_build)
    message = str(error.value)
    assert "[lead_scores] expect_column_values_to_be_between on composite_score" in message
    assert "150" in message and "write-back is blocked" in message
    assert write_log_count(sandbox) == writes_before
    with warehouse.connect(settings.warehouse) as con:
        assert diff_payload(con, "Lead").changed_count == 1  # there was something to send
        assert not con.execute("select 1 from ops.crm_sync_log where run_id = 'corpus-critical'").fetchall()
    gx = json.loads((settings.runs_dir / "corpus-critical" / "gx" / "lead_scores.json").read_text())
    assert gx["status"] == "fail"
