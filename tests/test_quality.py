"""Great Expectations gate: suites run on DataFrames from DuckDB; a critical failure names
the suite, expectation and bad values and blocks the write-back; warnings only report."""

from __future__ import annotations

import json

import pytest

from conftest import REPO
from lead_scoring import warehouse
from lead_scoring.quality.gx_checks import (
    CriticalDataQualityError,
    load_suite_spec,
    raise_on_critical,
    run_suites,
)

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
