"""The reporting models on a hand-made history of ten leads whose rates are known by hand:
five ICP leads (Software, 200-999 employees, US, VP Marketing: fit 75, composite 38, Tier 3)
of whom three converted, five others (Retail, nothing else known: Tier 4) of whom one did."""

from __future__ import annotations

import math
from datetime import datetime

import duckdb
import pytest

from lead_scoring import warehouse

AS_OF = datetime(2026, 11, 1, 0, 0, 0)
CREATED = datetime(2026, 9, 1)


def _insert(con, table: str, rows: list[dict]) -> None:
    for row in rows:
        row = {**row, "_batch_id": "fixture", "_loaded_at": AS_OF, "_source": "test"}
        cols = ", ".join(f'"{c}"' for c in row)
        con.execute(
            f"insert into {table} ({cols}) values ({', '.join('?' for _ in row)})", list(row.values())
        )


def _lead(i: int, icp: bool, opportunity: str | None) -> dict:
    return {
        "id": f"00Q00000000000{i}AAA",
        "email": f"person{i}@{'icp' if icp else 'retail'}{i}.com",
        "title": "VP Marketing" if icp else None,
        "industry": "Software" if icp else "Retail",
        "numberofemployees": 500 if icp else None,
        "country": "United States" if icp else None,
        "isconverted": opportunity is not None,
        "convertedopportunityid": opportunity,
        "isdeleted": False,
        "createddate": CREATED,
        "systemmodstamp": CREATED,
    }


def _opportunity(opportunity_id: str, won: bool) -> dict:
    return {
        "id": opportunity_id,
        "stagename": "Closed Won" if won else "Qualification",
        "isclosed": won,
        "iswon": won,
        "isdeleted": False,
        "createddate": datetime(2026, 10, 1),
        "systemmodstamp": datetime(2026, 10, 1),
    }


@pytest.fixture(scope="module")
def reports(tmp_path_factory):
    import os

    from lead_scoring.config import load_settings

    root = tmp_path_factory.mktemp("reporting_fixture")
    os.environ["LEADSCORE_WAREHOUSE"] = str(root / "w.duckdb")
    settings = load_settings()
    opportunities = {1: ("006A", True), 2: ("006B", False), 3: ("006C", False), 6: ("006D", True)}
    with warehouse.connect(settings.warehouse) as con:
        warehouse.ensure_schema(con)
        _insert(
            con,
            "raw_salesforce.lead",
            [_lead(i, icp=i <= 5, opportunity=opportunities.get(i, (None,))[0]) for i in range(1, 11)],
        )
        _insert(
            con, "raw_salesforce.opportunity", [_opportunity(o, won) for o, won in opportunities.values()]
        )
    # run_dbt passes only as_of; the lift needs lift_min_people too (ten people here)
    from dbt.cli.main import dbtRunner

    project = str(settings.dbt_project_dir)
    result = dbtRunner().invoke(
        ["build", "--select", "+tag:weekly", "--project-dir", project, "--profiles-dir", project,
         "--vars", "{as_of: '2026-11-01T00:00:00', lift_min_people: 1}"]
    )  # fmt: skip
    assert result.success, result.exception
    con = duckdb.connect(str(settings.warehouse))  # same configuration as dbt's connection
    yield con
    con.close()


def _rows(con, sql: str) -> list[dict]:
    cursor = con.execute(sql)
    names = [d[0] for d in cursor.description]
    return [dict(zip(names, row, strict=True)) for row in cursor.fetchall()]


def test_the_hand_made_leads_score_as_intended(reports):
    tiers = dict(reports.execute("select crm_id, tier from marts.lead_scores").fetchall())
    assert len(tiers) == 10
    assert {tiers[f"00Q00000000000{i}AAA"] for i in range(1, 6)} == {3}
    assert {tiers[f"00Q00000000000{i}AAA"] for i in range(6, 11)} == {4}


def test_conversion_by_tier_counts_only_outcomes_after_the_first_score(reports):
    """Every opportunity here (1 October) predates the people's first score (1 November): they
    are counted apart, and no tier gets credit for converting them."""
    rows = {r["tier"]: r for r in _rows(reports, "select * from reporting.rpt_conversion_by_tier_weekly")}
    assert set(rows) == {3, 4}
    assert (rows[3]["people"], rows[3]["people_with_earlier_opportunity"]) == (2, 3)
    assert (rows[4]["people"], rows[4]["people_with_earlier_opportunity"]) == (4, 1)
    assert {(r["opportunities"], r["won"], r["opportunity_rate"]) for r in rows.values()} == {(0, 0, 0.0)}
    assert rows[3]["win_rate"] is None
    assert str(rows[3]["cohort_week_start_date"]) == "2026-10-26"  # the Monday of the as_of week


def test_attribute_lift_wilson_interval_and_suggested_points(reports):
    rows = {
        (r["attribute"], r["attribute_value"]): r
        for r in _rows(reports, "select * from reporting.rpt_icp_attribute_lift where component = 'fit'")
    }
    software, retail = rows[("industry", "software")], rows[("industry", "retail")]
    assert (software["people"], software["conversions"]) == (5, 3)
    assert software["base_rate"] == pytest.approx(0.4)
    assert software["lift"] == pytest.approx(1.5)
    assert retail["lift"] == pytest.approx(0.5)
    # Wilson 95% for 3 of 5
    p, n, z = 0.6, 5, 1.96
    center, half = p + z * z / (2 * n), z * math.sqrt(p * (1 - p) / n + z * z / (4 * n * n))
    assert software["conversion_rate_lower"] == pytest.approx((center - half) / (1 + z * z / n))
    assert software["conversion_rate_upper"] == pytest.approx((center + half) / (1 + z * z / n))
    assert software["is_significant"] is False  # five people cannot show it
    # smoothed log-odds ratio: (3.5/2.5) / (1.5/4.5) = 4.2
    assert software["log_odds_ratio"] == pytest.approx(math.log(4.2))
    assert retail["log_odds_ratio"] == pytest.approx(-math.log(4.2))
    # its 95% interval: +-1.96 x sqrt of the four smoothed cells' 1/n
    se = math.sqrt(1 / 3.5 + 1 / 2.5 + 1 / 1.5 + 1 / 4.5)
    assert software["log_odds_ratio_lower"] == pytest.approx(math.log(4.2) - 1.96 * se)
    assert software["log_odds_ratio_upper"] == pytest.approx(math.log(4.2) + 1.96 * se)
    # what the fit score already predicts: the ICP five sit in fit band 70-79 (3 of 5 convert,
    # smoothed 3.5 / 6), the Retail five in band 0-9 (1.5 / 6); Software's people are the band
    expected = 5 * 3.5 / 6
    assert software["expected_conversions"] == pytest.approx(expected)
    assert software["excess_log_odds"] == pytest.approx(math.log(3.5 / (expected + 0.5)))
    # the exchange rate: fit points per unit of log-odds, from the bands' log-odds slope
    icp_fit, other_fit = (
        reports.execute(
            f"select fit_score from marts.lead_scores where crm_id = '00Q00000000000{i}AAA'"
        ).fetchall()[0][0]
        for i in (1, 6)
    )
    logit = lambda p: math.log(p / (1 - p))  # noqa: E731
    assert software["fit_points_per_log_odds"] == pytest.approx(
        (icp_fit - other_fit) / (logit(3.5 / 6) - logit(1.5 / 6))
    )
    # nothing beyond what the score predicts (the interval contains 0): keep the points
    for key in [("industry", "software"), ("employees", "employees_200_999"), ("title_seniority", "vp")]:
        assert rows[key]["suggested_points"] == rows[key]["current_points"], key
        assert rows[key]["is_change_suggested"] is False
    assert retail["suggested_points"] == 0 and retail["has_rule"] is False and retail["current_points"] == 0


def test_calibration_deciles(reports):
    rows = _rows(reports, "select * from reporting.rpt_score_calibration order by score_decile")
    assert [r["people"] for r in rows] == [1] * 10
    assert sum(r["conversions"] for r in rows) == 4
    assert rows[-1]["cumulative_share_of_conversions"] == pytest.approx(1.0)
    # the top five deciles are the ICP leads (score 38), the predicted rate follows the score
    assert all(r["min_score"] == 38 for r in rows[:5]) and all(r["max_score"] == 0 for r in rows[5:])
    assert rows[0]["predicted_conversion_rate"] == pytest.approx(0.4 * 38 / 19)
    assert rows[9]["predicted_conversion_rate"] == pytest.approx(0.0)


def test_scoring_accuracy_lists_the_converted_low_tiers(reports):
    rows = _rows(reports, "select * from reporting.rpt_scoring_accuracy")
    # every conversion came from Tier 3-4; nobody was Tier 1-2, so no false positive
    assert sorted(r["error_type"] for r in rows) == ["false_negative"] * 4
    assert {r["tier_before_opportunity"] for r in rows} == {3, 4}
    assert any("Industry: Software" in (r["score_reasons_at_assignment"] or "") for r in rows)


def test_threshold_recommendations(reports):
    rows = {
        (r["method"], r["tier"]): r
        for r in _rows(reports, "select * from reporting.rpt_threshold_recommendations")
    }
    assert set(rows) == {
        ("target_share", 1), ("target_share", 2), ("target_share", 3),
        ("target_conversion_rate", 1), ("target_conversion_rate", 2),
    }  # fmt: skip
    # 10 people, none disqualified: a 5% (Tier 1) or 20% (Tier 1-2) share allows nobody above
    # the ICP score 38, so the threshold moves just above it; 70% allows the five ICP leads
    assert rows[("target_share", 1)]["recommended_threshold"] == 39
    assert rows[("target_share", 2)]["recommended_threshold"] == 39
    assert rows[("target_share", 3)]["recommended_threshold"] == 1
    assert rows[("target_share", 3)]["share_at_recommended"] == pytest.approx(0.5)
    # 20% conversion at or above: everyone (40%) already qualifies from threshold 0, with 20+ people
    # required there is no such threshold among 10 people
    assert rows[("target_conversion_rate", 1)]["recommended_threshold"] is None
    assert rows[("target_share", 1)]["current_threshold"] == 60


def test_the_funnel_and_the_headline_numbers_agree_with_conversion_by_tier(reports):
    """The three tables count the same people: the funnel's and the header's totals equal
    conversion by tier's, and every funnel stage is within the one before."""
    funnel = reports.execute(
        "select sum(people), sum(people_with_earlier_opportunity), sum(mqls), sum(sqls), sum(opportunities),"
        " bool_and(mqls <= people and sqls <= mqls and opportunities <= sqls and won <= opportunities)"
        " from reporting.rpt_funnel"
    ).fetchall()[0]
    conversion = reports.execute(
        "select sum(people), sum(people_with_earlier_opportunity)"
        " from reporting.rpt_conversion_by_tier_weekly"
    ).fetchall()[0]
    headline = reports.execute(
        "select sum(people_first_scored), sum(new_mqls), sum(new_sqls), sum(new_opportunities)"
        " from reporting.rpt_kpi_weekly"
    ).fetchall()[0]
    assert funnel[:2] == conversion == (6, 4)
    assert headline == (funnel[0], funnel[2], funnel[3], 0)
    assert funnel[5] is True
