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
