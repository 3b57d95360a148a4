"""Great Expectations gate: suites run on DataFrames from DuckDB; a critical failure names
the suite, expectation and bad values and blocks the write-back; warnings only report."""

from __future__ import annotations

import json

import pytest

from lead_scoring import warehouse
from lead_scoring.quality.gx_checks import (
    CriticalDataQualityError,
    load_suite_spec,
    raise_on_critical,
    run_suites,
)
from tests.support import REPO

SCORE_SUITE = REPO / "expectations" / "lead_scores.json"


@pytest.fixture
def con(settings):
    with warehouse.connect(settings.warehouse) as connection:
        warehouse.ensure_schema(connection)
        connection.execute("create schema marts")
        connection.execute(
            "create table marts.lead_scores as select * from (values "
            "('00Q1', 70.0::double, 80.0::double, 60.0::double, 1, 'A2', 'v1-abc', 'x'), "
            "('00Q2', 20.0, 10.0, 30.0, 3, 'D2', 'v1-abc', '')) "
            "as t(crm_id, composite_score, fit_score, intent_score, tier, grade, "
            "scoring_model_version, score_reasons)"
        )
        yield connection


def test_every_suite_file_is_valid_and_every_expectation_has_a_severity():
    for path in sorted((REPO / "expectations").glob("*.json")):
        spec = load_suite_spec(path)
        assert spec["expectations"], path


def test_good_scores_pass(con, tmp_path):
    results = run_suites(con, [SCORE_SUITE], "r1", tmp_path)
    assert [r.status for r in results] == ["pass"]
    raise_on_critical(results)
    stored = con.execute(
        "select count(*), bool_and(success) from ops.gx_results where run_id = 'r1'"
    ).fetchall()
    assert stored[0][0] == len(load_suite_spec(SCORE_SUITE)["expectations"]) and stored[0][1]


def test_out_of_range_score_is_critical_and_named(con, tmp_path):
    con.execute("update marts.lead_scores set composite_score = 150 where crm_id = '00Q2'")
    results = run_suites(con, [SCORE_SUITE], "r2", tmp_path)
    assert results[0].status == "fail"
    with pytest.raises(CriticalDataQualityError) as error:
        raise_on_critical(results)
    message = str(error.value)
    assert "[lead_scores] expect_column_values_to_be_between on composite_score" in message
    assert "150" in message and "write-back is blocked" in message
    written = json.loads((tmp_path / "lead_scores.json").read_text())
    assert written["status"] == "fail"
    docs = tmp_path / "data_docs" / "index.html"
    assert docs.exists() and "lead_scores" in docs.read_text()
    pages = list((tmp_path / "data_docs" / "validations").rglob("*.html"))
    assert pages and any("composite_score" in page.read_text() for page in pages)


def test_warning_is_reported_not_raised(con, tmp_path):
    con.execute("update marts.lead_scores set score_reasons = repeat('x', 1200) where crm_id = '00Q1'")
    results = run_suites(con, [SCORE_SUITE], "r3", tmp_path)
    assert results[0].status == "warn" and not results[0].critical_failures
    assert "score_reasons" in results[0].warnings[0].describe()
    raise_on_critical(results)


def test_with_keys_a_keyed_suite_checks_only_those_rows(con, tmp_path):
    # the fast lane checks the scores it is about to write: the touched people's
    con.execute("update marts.lead_scores set composite_score = 150 where crm_id = '00Q2'")
    clean = run_suites(con, [SCORE_SUITE], "k1", tmp_path / "k1", keys=["00Q1"])
    assert [(r.status, r.rows) for r in clean] == [("pass", 1)]
    bad = run_suites(con, [SCORE_SUITE], "k2", tmp_path / "k2", keys=["00Q2", "001ACCOUNT"])
    assert [(r.status, r.rows) for r in bad] == [("fail", 1)]
    assert run_suites(con, [SCORE_SUITE], "k3", tmp_path / "k3", keys=["001ACCOUNT"]) == []
    assert run_suites(con, [SCORE_SUITE], "k4", tmp_path / "k4")[0].status == "fail"


def test_a_suite_without_severity_is_refused(tmp_path):
    path = tmp_path / "bad.json"
    path.write_text(
        json.dumps(
            {
                "name": "bad",
                "meta": {"leadscore": {"table": "t"}},
                "expectations": [{"type": "expect_column_values_to_not_be_null", "kwargs": {"column": "a"}}],
            }
        )
    )
    with pytest.raises(ValueError, match="meta.severity"):
        load_suite_spec(path)


def test_a_batch_failing_a_critical_raw_check_is_held_out_of_raw_and_re_extracted(settings, tmp_path):
    """API extract batches: the held batch's rows move to the quarantine, the ledger says
    held (read = 0 loaded + quarantined), the object's watermark goes back to the batch's
    window start (so the next run extracts the records again), and the same batch is not
    loaded twice; the other object's batch, which passed, stays."""
    from datetime import datetime

    from lead_scoring import crm_schema
    from lead_scoring.extract.salesforce import write_text_parquet
    from lead_scoring.load.files import load_crm_text
    from lead_scoring.load.raw import Batch
    from lead_scoring.quality.gx_checks import hold_failed_batches

    start, end = datetime(2026, 10, 31), datetime(2026, 11, 1)
    stamp = "2026-10-31T10:00:00.000+0000"
    lead_path, contact_path = tmp_path / "Lead.parquet", tmp_path / "Contact.parquet"
    write_text_parquet(
        [{"Id": f"00Q00000000000{i}AAA", "SystemModstamp": stamp} for i in (1, 2)],
        crm_schema.fields("Lead"),
        lead_path,
    )
    contact = [{"Id": "003000000000001AAA", "SystemModstamp": stamp}]
    write_text_parquet(contact, crm_schema.fields("Contact"), contact_path)
    suite = load_suite_spec(REPO / "expectations" / "raw_salesforce_lead.json")
    suite["expectations"].append(
        {
            "type": "expect_column_values_to_not_be_null",
            "kwargs": {"column": "email"},
            "meta": {"severity": "critical"},
        }
    )
    strict = tmp_path / "raw_salesforce_lead.json"
    strict.write_text(json.dumps(suite))
    batches = {
        obj: Batch(f"salesforce:{obj}:{start}:{end}", "salesforce", obj, str(path), "r1", start, end)
        for obj, path in (("Lead", lead_path), ("Contact", contact_path))
    }
    with warehouse.connect(settings.warehouse) as con:
        warehouse.ensure_schema(con)
        con.execute("insert into ops.watermarks values ('Lead', ?, 'earlier', ?)", [start, start])
        for obj, path in (("Lead", lead_path), ("Contact", contact_path)):
            load_crm_text(con, obj, path, batches[obj], watermark=True, as_of=end)
        ids = [b.batch_id for b in batches.values()]
        suites = [strict, REPO / "expectations" / "raw_salesforce_contact.json"]
        results = run_suites(con, suites, "r1", tmp_path, ids)
        assert [r.status for r in results] == ["fail", "pass"]
        assert hold_failed_batches(con, results, ids) == [batches["Lead"].batch_id]
        assert con.execute("select count(*) from raw_salesforce.lead").fetchall() == [(0,)]
        assert con.execute("select count(*) from raw_salesforce.contact").fetchall() == [(1,)]
        ledger = con.execute(
            "select object, status, rows_read, rows_loaded, rows_quarantined from ops.batches"
        )
        assert sorted(ledger.fetchall()) == [("Contact", "loaded", 1, 1, 0), ("Lead", "held", 2, 0, 2)]
        reasons = con.execute("select line, reason from ops.quarantine order by line").fetchall()
        assert [line for line, _ in reasons] == [1, 2]
        assert "expect_column_values_to_not_be_null on email" in reasons[0][1]
        marks = dict(con.execute("select object, watermark from ops.watermarks").fetchall())
        assert marks == {"Lead": start, "Contact": end}
        again = load_crm_text(con, "Lead", lead_path, batches["Lead"], watermark=True, as_of=end)
        assert again.skipped and con.execute("select count(*) from raw_salesforce.lead").fetchall() == [(0,)]


def test_personal_data_never_appears_in_a_described_failure():
    from lead_scoring.quality.gx_checks import ExpectationOutcome

    email = ExpectationOutcome("raw", "expect_column_values_to_match_regex", "email", "warning", False, 2,
                               ["jane.doe@example", "bob@"])  # fmt: skip
    assert "jane" not in email.describe() and "withheld" in email.describe()
    score = ExpectationOutcome("s", "expect_column_values_to_be_between", "composite_score", "critical",
                               False, 1, ["150"])  # fmt: skip
    assert "['150']" in score.describe()


def _raw_lead_suite(tmp_path, mostly: float):
    path = tmp_path / "raw_lead_chunks.json"
    path.write_text(
        json.dumps(
            {
                "name": "raw_lead_chunks",
                "meta": {"leadscore": {"table": "raw_salesforce.lead", "scope": "run"}},
                "expectations": [
                    {
                        "type": "expect_column_values_to_not_be_null",
                        "kwargs": {"column": "id"},
                        "meta": {"severity": "critical"},
                    },
                    {
                        "type": "expect_column_values_to_match_regex",
                        "kwargs": {"column": "email", "regex": "@", "mostly": mostly},
                        "meta": {"severity": "warning"},
                    },
                ],
            }
        )
    )
    return path


def test_a_row_wise_suite_in_chunks_gives_the_whole_tables_outcome(con, tmp_path, monkeypatch):
    # 5,000 rows read 2,048 at a time: 3 chunks. Every bad e-mail is in the first chunk, so
    # that chunk alone misses `mostly` 0.9 (1,000 of 2,048 bad) while the table meets it
    # (1,000 of 5,000 bad = 80 % good >= 0.8) and misses 0.9; one null id sits in the last chunk.
    con.execute(
        "insert into raw_salesforce.lead (id, email, _batch_id) select "
        "case when i = 4999 then null else 'id' || i end, "
        "case when i < 1000 then 'no-at-sign' else 'p' || i || '@x.com' end, 'b1' from range(5000) t(i)"
    )
    monkeypatch.setenv("LEADSCORE_GX_CHUNK_ROWS", "2048")
    passing = run_suites(con, [_raw_lead_suite(tmp_path, 0.8)], "c1", tmp_path / "c1", ["b1"])[0]
    assert passing.rows == 5000
    null_ids, emails = passing.outcomes
    assert (null_ids.success, null_ids.unexpected_count) == (False, 1)
    assert (emails.success, emails.unexpected_count) == (True, 1000)
    assert emails.sample and all(value == "no-at-sign" for value in emails.sample)
    assert passing.status == "fail"  # the null id is critical
    failing = run_suites(con, [_raw_lead_suite(tmp_path, 0.9)], "c2", tmp_path / "c2", ["b1"])[0]
    assert (failing.outcomes[1].success, failing.outcomes[1].unexpected_count) == (False, 1000)
    monkeypatch.setenv("LEADSCORE_GX_CHUNK_ROWS", "many")
    with pytest.raises(ValueError, match="LEADSCORE_GX_CHUNK_ROWS"):
        run_suites(con, [_raw_lead_suite(tmp_path, 0.8)], "c3", tmp_path / "c3", ["b1"])


def test_a_suite_reads_only_the_columns_its_expectations_name():
    from lead_scoring.quality.gx_checks import frame_query, is_row_wise

    spec = load_suite_spec(REPO / "expectations" / "raw_salesforce_lead.json")
    sql, params = frame_query(spec, ["b1", "b2"])
    assert sql.startswith('select "id", "systemmodstamp", "email", "numberofemployees", "annualrevenue" from')
    assert params == ["b1", "b2"] and is_row_wise(spec)
    scores = load_suite_spec(SCORE_SUITE)  # unique and mean need the whole column at once
    assert not is_row_wise(scores) and '"crm_id"' in frame_query(scores, None)[0]
