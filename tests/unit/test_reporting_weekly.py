"""The weekly HTML report: every section renders from hand-made rows, missing tables say
"not available", and the file is self-contained (no script, no external URL)."""

from __future__ import annotations

import json
import re
from datetime import date, datetime, timedelta

import duckdb

from lead_scoring.cli import main
from lead_scoring.reporting import svg, weekly
from lead_scoring.reporting.weekly import SECTIONS, ReportData, collect, render, render_page, write_report

WEEK = date(2026, 11, 16)


def _rows() -> dict[str, list[dict]]:
    conversion = [
        {
            "cohort_week_start_date": WEEK,
            "tier": t,
            "tier_label": "x",
            "people": 100,
            "opportunities": o,
            "won": w,
            "opportunity_rate": o / 100,
            "win_rate": w / o,
            "won_rate": w / 100,
        }
        for t, o, w in [(1, 30, 10), (2, 15, 4), (3, 5, 1), (4, 1, 1)]
    ]
    distribution = [
        {
            "week_start_date": WEEK,
            "tier": t,
            "tier_label": "x",
            "score_band_start": b,
            "people": 10,
            "share_of_week": 0.25,
        }
        for t, b in [(1, 80), (2, 50), (3, 20), (4, 0)]
    ]
    calibration = [
        {
            "score_decile": d,
            "people": 10,
            "conversions": 10 - d,
            "won": 1,
            "min_score": 100 - 10 * d,
            "max_score": 109 - 10 * d,
            "mean_score": 105.0 - 10 * d,
            "base_rate": 0.45,
            "predicted_conversion_rate": 0.05 * (10 - d),
            "observed_conversion_rate": (10 - d) / 10,
            "lift": (10 - d) / 4.5,
            "cumulative_share_of_conversions": d / 10,
        }
        for d in range(1, 11)
    ]
    lift = [
        {
            "component": c,
            "attribute": a,
            "attribute_value": v,
            "rule_id": v,
            "label": v,
            "people": 50,
            "conversions": 20,
            "conversion_rate": 0.4,
            "conversion_rate_lower": 0.27,
            "conversion_rate_upper": 0.54,
            "base_rate": 0.2,
            "lift": 2.0,
            "lift_lower": 1.35,
            "lift_upper": 2.7,
            "log_odds_ratio": 0.9,
            "current_points": 10.0,
            "suggested_points": 18,
            "has_rule": True,
            "has_enough_people": True,
            "is_significant": True,
        }
        for c, a, v in [
            ("fit", "industry", "software"),
            ("intent", "intent_signal", "demo_request"),
            ("negative", "negative_rule", "personal_email"),
        ]
    ] + [
        {
            **UNCOVERED,
            "component": c, "attribute": a, "attribute_value": v, "label": v, "lift": lift,
            "suggested_points": points, "is_significant": significant,
        }
        for c, a, v, lift, points, significant in [
            ("intent", "event_type", "phone_conversation", 2.08, 30, True),
            ("fit", "lead_source", "reference", 1.89, 23, True),
            ("intent", "event_url", "page_visit https://edu.test/syllabus", 0.4, 0, True),
            ("fit", "state", "ut", 1.6, 0, False),
        ]
    ]  # fmt: skip
    accuracy = [
        {
            "crm_id": "00Q1",
            "error_type": "false_negative",
            "score_reasons_at_assignment": "Website visit +1",
            "assigned_tier": 3,
            "assigned_composite_score": 20.0,
            "tier_before_opportunity": 3,
            "current_tier": 1,
        },
        {
            "crm_id": "00Q2",
            "error_type": "false_positive",
            "score_reasons_at_assignment": "Demo request +30",
            "assigned_tier": 1,
            "assigned_composite_score": 70.0,
            "tier_before_opportunity": 1,
            "current_tier": 2,
            "sales_feedback": "unqualified",
        },
        *[
            {
                "crm_id": f"00Q{n}",
                "error_type": "false_positive",
                "score_reasons_at_assignment": "Pricing page visit +15",
                "assigned_tier": 2,
                "assigned_composite_score": 45.0,
                "current_tier": 2,
                "sales_feedback": "could_not_contact",
            }
            for n in (3, 4)
        ],
    ]
    thresholds = [
        {
            "method": "target_share",
            "parameter": "tier1_threshold",
            "tier": 1,
            "target": 0.05,
            "current_threshold": 60.0,
            "recommended_threshold": 69,
            "share_at_current": 0.08,
            "share_at_recommended": 0.05,
            "conversion_rate_at_current": 0.14,
            "conversion_rate_at_recommended": 0.15,
            "tier1_per_rep_per_day_at_recommended": 0.1,
            "tier1_capacity_per_rep_per_day": 5.0,
            "is_within_capacity": True,
        }
    ]
    backtest = [
        {
            "backtest_id": "bt1",
            "metric": m,
            "tier": t,
            "current_value": v,
            "candidate_value": v + 0.01,
            "difference": 0.01,
            "step_days": 7,
            "horizon_days": 30,
            "first_as_of": datetime(2026, 9, 1),
            "last_as_of": datetime(2026, 11, 1),
            "outcomes_observed_until": datetime(2026, 12, 1),
            "duration_s": 12.0,
            "current_model_version": "v1-a",
            "candidate_model_version": "v1-b",
        }
        for m, t, v in [
            ("auc", None, 0.8),
            ("top_decile_lift", None, 3.1),
            ("conversion_rate", 1, 0.2),
            ("tier_share", 1, 0.05),
        ]
    ]
    return {
        "reporting.rpt_kpi_weekly": KPI_ROWS,
        "ops.scoring_versions": [
            {
                "version_id": f"v{n}",
                "number": n,
                "is_live": n == 2,
                "created_at": datetime(2026, 11, n),
                "created_by": "ann",
                "model_version": None,
                "reason": reason,
                "changes": changes,
            }
            for n, reason, changes in [
                (1, "the configuration the first scored run used", "first version"),
                (2, "Software converts 1.5x", "fit_rules: industry_software: points 20 → 25"),
            ]
        ],  # fmt: skip
        "reporting.rpt_pilot": [
            {
                "pilot_id": "p1",
                "arm": arm,
                "planned_share": share,
                "leads": leads,
                "lead_share": share,
                "mqls": leads // 4,
                "opportunities": opps,
                "conversion_rate": opps / leads,
                "conversion_rate_low": opps / leads - 0.01,
                "conversion_rate_high": opps / leads + 0.01,
                "median_minutes_to_first_response": 42.0,
                "sla_compliance": 0.9,
                "p_value": 0.0123,
                "minimum_detectable_effect": 0.021,
                "sample_size_needed": 9000,
                "days_to_sample": 0.0,
                "verdict": "challenger better",
                "verdict_reason": "p = 0.0123 < alpha 0.05",
                "days_run": 21.0,
                "alpha": 0.05,
                "power": 0.8,
                "min_lift": 0.2,
                "horizon_days": 30,
                "as_of": datetime(2026, 11, 22),
            }
            for arm, share, leads, opps in [("champion", 0.8, 8000, 800), ("challenger", 0.2, 2000, 260)]
        ],  # fmt: skip
        "reporting.rpt_funnel": FUNNEL_ROWS,
        "reporting.rpt_conversion_by_tier_weekly": conversion,
        "reporting.rpt_score_distribution_weekly": distribution,
        "reporting.rpt_score_calibration": calibration,
        "reporting.rpt_icp_attribute_lift": lift,
        "reporting.rpt_scoring_accuracy": accuracy,
        "reporting.rpt_threshold_recommendations": thresholds,
        "reporting.rpt_backtest": backtest,
        "reporting.rpt_backtest_daily": [
            {
                "backtest_id": "bt1",
                "variant": v,
                "as_of": datetime(2026, 10, d),
                "people": 10,
                "positives": 1,
                "auc": 0.7 + d / 100,
                "tier1_share": 0.1,
            }
            for v in ("current", "candidate")
            for d in (1, 8)
        ],  # fmt: skip
        "reporting.rpt_sla_compliance_weekly": [
            {
                "week_start_date": WEEK,
                "owner_id": "005A",
                "owner_name": "Ann Lee",
                "team": "East",
                "tier": 1,
                "leads": 10,
                "met": 8,
                "breached": 2,
                "open_clocks": 0,
                "compliance_rate": 0.8,
                "avg_minutes_to_first_response": 30.0,
            },
            {
                "week_start_date": WEEK,
                "owner_id": "005B",
                "owner_name": "Bo Chen",
                "team": "West",
                "tier": 2,
                "leads": 20,
                "met": 18,
                "breached": 2,
                "open_clocks": 0,
                "compliance_rate": 0.9,
                "avg_minutes_to_first_response": 90.0,
            },
            {
                "week_start_date": date(2025, 3, 10),
                "owner_id": "005A",
                "owner_name": "Ann Lee",
                "tier": 1,
                "leads": 5,
                "met": 0,
                "breached": 5,
                "open_clocks": 0,
                "compliance_rate": 0.0,
            },
        ],
        "ops.model_versions": [
            _version("m_old", datetime(2026, 11, 1), promoted=True, auc=0.812),
            _version("m_new", datetime(2026, 11, 8), promoted=False, auc=0.801),
        ],
        "model_points": [
            {"feature": "events:demo:count_30d", "bin_label": "[2.00, inf)", "above_lowest": 31.4},
            {"feature": "field:lead_source", "bin_label": "Reference", "above_lowest": 12.0},
        ],
    }


def _kpi(week: date, complete: bool, people: int, mqls: int, compliance: float, minutes: float) -> dict:
    return {
        "week_start_date": week, "is_complete_week": complete, "people_first_scored": people,
        "new_mqls": mqls, "new_sqls": mqls // 2, "new_opportunities": 3, "new_won": 1, "sla_clocks": 10,
        "sla_met": 8, "sla_breached": 2, "sla_compliance_rate": compliance,
        "median_minutes_to_first_response": minutes,
    }  # fmt: skip


# this week so far (23 Nov), last week (16 Nov), the week before (9 Nov); nothing on 2 Nov
KPI_ROWS = [
    _kpi(WEEK + timedelta(weeks=1), False, 5, 1, 0.5, 10.0),
    _kpi(WEEK, True, 120, 30, 0.8, 40.0),
    _kpi(WEEK - timedelta(weeks=1), True, 100, 40, 0.7, 50.0),
    _kpi(WEEK - timedelta(weeks=3), True, 90, 20, 0.6, 60.0),
]

FUNNEL_ROWS = [
    {
        "cohort_week_start_date": WEEK, "tier": tier, "lead_source": source, "people": people,
        "mqls": mqls, "sqls": sqls, "opportunities": opportunities, "won": won,
        "opportunities_outside_funnel": outside, "people_with_earlier_opportunity": 2,
    }
    for tier, source, people, mqls, sqls, opportunities, won, outside in [
        (1, "Web", 100, 100, 80, 20, 5, 0),
        (1, "Event", 50, 50, 40, 10, 5, 0),
        (3, "Web", 200, 0, 0, 0, 0, 7),
    ]
]  # fmt: skip


UNCOVERED = {
    "rule_id": None, "people": 80, "conversions": 30, "conversion_rate": 0.4,
    "conversion_rate_lower": 0.3, "conversion_rate_upper": 0.5, "base_rate": 0.2, "lift_lower": 1.5,
    "lift_upper": 2.5, "log_odds_ratio": 0.9, "current_points": 0.0, "has_rule": False,
    "has_enough_people": True,
}  # fmt: skip


def _version(version_id: str, trained_at: datetime, promoted: bool, auc: float) -> dict:
    metrics = {
        "auc": auc, "rules_auc": 0.702, "yardstick_auc": 0.820, "top_decile_lift": 3.9,
        "precision": 0.25, "rules_precision": 0.125, "recall": 0.5, "rules_recall": 0.25,
        "calibration_error": 0.012, "deployed_person_days": 12345,
    }  # fmt: skip
    return {
        "version_id": version_id,
        "trained_at": trained_at,
        "horizon_days": 30,
        "features_used": json.dumps(["events:demo:count_30d", "field:lead_source"]),
        "features_refused": json.dumps([{"feature": "field:is_converted", "reason": "outcome field"}]),
        "metrics": json.dumps(metrics),
        "is_promoted": promoted,
    }


def test_every_section_renders_with_its_chart():
    html = render(ReportData(tables=_rows(), as_of=datetime(2026, 11, 22, 21)))
    for key, (title, _) in SECTIONS.items():
        assert f'<section id="{key}">' in html
        assert title in html
    assert "failed to render" not in html
    assert "not available" not in html
    # conversion, histogram, tier shares, SLA, calibration, lift, backtest tiers and daily AUC
    assert html.count("<svg") >= 8
    assert "AUC by scoring day" in html
    assert "Tiers convert in order" in html
    assert "0.800" in html and "3.100" in html  # backtest AUC and lift
    assert "the data ends\n01 Dec; later days are not scored" in html


def test_the_change_log_lists_the_versions_newest_first():
    section = render(ReportData(tables=_rows())).split('<section id="versions">')[1].split("</section>")[0]
    assert section.index("Software converts 1.5x") < section.index("first version")
    assert "industry_software: points 20 → 25" in section and ">live<" in section


def test_the_pilot_section_shows_both_arms_and_the_verdict():
    section = render(ReportData(tables=_rows())).split('<section id="pilot">')[1].split("</section>")[0]
    assert section.index(">champion<") < section.index(">challenger<")
    assert "13.0%" in section and "10.0%" in section  # 260 / 2,000 and 800 / 8,000
    assert "p = 0.012" in section and "9,000" in section and "challenger better" in section


def test_missing_tables_say_not_available():
    rows = _rows()
    del rows["reporting.rpt_sla_compliance_weekly"]
    del rows["reporting.rpt_backtest"]
    html = render(ReportData(tables=rows, as_of=None))
    sla = html.split('<section id="sla">')[1].split("</section>")[0]
    assert "not available" in sla and "rpt_sla_compliance_weekly" in sla
    assert "not available" in html.split('<section id="backtest">')[1]


def test_self_contained():
    html = render(ReportData(tables=_rows()))
    assert "<script" not in html
    assert not re.search(r"""(src|href)=["']?(https?:)?//""", html)
    assert "@import" not in html and "url(" not in html


def test_write_report_from_a_warehouse(tmp_path):
    db = tmp_path / "w.duckdb"
    con = duckdb.connect(str(db))
    con.execute("create schema reporting")
    con.execute(
        "create table reporting.rpt_conversion_by_tier_weekly as select"
        " date '2026-11-16' as cohort_week_start_date, 1 as tier, 'Hot' as tier_label, 10 as people,"
        " 2 as opportunities, 1 as won, 0.2 as opportunity_rate, 0.5 as win_rate, 0.1 as won_rate"
    )
    con.close()
    out = tmp_path / "reports" / "weekly_report.html"
    result = write_report(db, out)
    assert out.exists() and result["bytes"] == len(out.read_bytes())
    assert "sla" in result["sections_not_available"] and "conversion" not in result["sections_not_available"]
    with duckdb.connect(str(db)) as con:
        assert collect(con).rows("reporting.rpt_backtest") is None


def test_nice_max_and_empty_series():
    assert svg.nice_max(0.17) == 0.2
    assert svg.nice_max(730) == 1000
    assert "<svg" in svg.bar_chart([], {"a": []}, title="empty")
    assert "<svg" in svg.line_chart(["w1"], {"a": [None]}, title="gap")


def test_values_from_the_warehouse_are_escaped_and_our_markup_is_not():
    script = "<script>alert(1)</script>"
    rows = _rows()
    rows["reporting.rpt_scoring_accuracy"][0].update(crm_id=script, score_reasons_at_assignment=script)
    rows["reporting.rpt_icp_attribute_lift"][0].update(attribute=script, label=script)
    rows["reporting.rpt_threshold_recommendations"][0]["parameter"] = script
    for row in rows["reporting.rpt_sla_compliance_weekly"]:
        row["owner_name"] = script
    rows["reporting.rpt_speed_to_lead"] = [{"owner_name": f"Ann &x={script}", "team": "East"}]
    for row in rows["reporting.rpt_backtest"]:
        row.update(backtest_id=script, current_model_version=script, first_as_of=script)
    html = render(ReportData(tables=rows, as_of=datetime(2026, 11, 22, 21)))
    assert "<script" not in html and "&amp;lt;" not in html  # escaped once, not twice
    escaped = "&lt;script&gt;alert(1)&lt;/script&gt;"
    for key in ("accuracy", "lift", "thresholds", "sla", "backtest"):
        assert escaped in html.split(f'<section id="{key}">')[1].split("</section>")[0], key
    assert f"Ann &amp;x={escaped}" in html
    # the report's own markup around those values stays markup
    assert f"<code>{escaped}</code>" in html and "<b>+18</b>" in html


def test_values_no_seed_covers_are_listed_apart_with_the_points_of_a_new_rule():
    html = render(ReportData(tables=_rows()))
    lift = html.split('<section id="lift">')[1].split("</section>")[0]
    uncovered = lift.split("Values no seed rule covers")[1]
    rows = re.findall(r"<tr>(.*?)</tr>", uncovered, re.S)[1:]
    # furthest from the base rate first (0.4x is further than 1.89x), the insignificant one left out
    assert [re.findall(r">([^<]*)</td>", r)[1] for r in rows] == [
        "page_visit https://edu.test/syllabus", "phone_conversation", "reference",
    ]  # fmt: skip
    assert "<b>+30</b>" in uncovered and "<b>+23</b>" in uncovered
    # the intent table lists the seeds' signals only
    intent = lift.split("<h3>Intent signals</h3>")[1].split("</table>")[0]
    assert "demo_request" in intent and "phone_conversation" not in intent


def _model_section(html: str) -> str:
    return html.split('<section id="model">')[1].split("</section>")[0]


def test_the_model_card_shows_the_live_version_beside_the_rules_and_the_yardstick():
    section = _model_section(render(ReportData(tables=_rows())))
    assert "Live points table <code>m_old</code>" in section  # the promoted one, not the newest
    assert "12,345 person-days" in section
    for figure in ("0.812", "0.702", "0.820", "3.90", "25.0%", "12.5%", "0.012"):
        assert figure in section, figure
    assert "events:demo:count_30d" in section and "+31" in section
    assert "field:is_converted: outcome field" in section
    assert "m_new" in section  # in the versions table


def test_the_model_card_without_a_promoted_version_says_the_rules_score_alone():
    rows = _rows()
    rows["ops.model_versions"] = [_version("m_new", datetime(2026, 11, 8), promoted=False, auc=0.6)]
    section = _model_section(render(ReportData(tables=rows)))
    assert "No version is promoted" in section and "<code>m_new</code>" in section
    rows["ops.model_versions"] = []
    assert "No model version trained yet" in _model_section(render(ReportData(tables=rows)))


def test_a_backtest_without_a_candidate_renders():
    rows = _rows()
    for row in rows["reporting.rpt_backtest"]:
        row.update(candidate_value=None, difference=None)
    html = render(ReportData(tables=rows))
    section = html.split('<section id="backtest">')[1].split("</section>")[0]
    assert "failed to render" not in section and "Backtest conversion by tier" in section
    assert "<th>candidate</th>" not in section and "candidate <code>" not in section


def test_conversion_without_outcomes_after_a_first_score_says_so_and_claims_no_order():
    rows = _rows()
    rows["reporting.rpt_conversion_by_tier_weekly"] = [
        {"cohort_week_start_date": date(2026, 11, 30), "tier": t, "people": 10, "opportunities": 0, "won": 0,
         "people_with_earlier_opportunity": 4, "opportunity_rate": 0.0}
        for t in (1, 2, 3, 4)
    ]  # fmt: skip
    html = render(ReportData(tables=rows))
    section = html.split('<section id="conversion">')[1].split("</section>")[0]
    assert "No opportunity has followed a first score yet" in section
    assert "Tiers convert in order" not in section and "16 people here" in section
    assert "left out: opportunity before first score" in section


def test_the_sla_section_shows_the_data_window_by_owner_name():
    html = render(ReportData(tables=_rows()))
    section = html.split('<section id="sla">')[1].split("</section>")[0]
    assert "last 12 weeks of the data" in section and "1 older weeks" in section
    assert "Ann Lee" in section and "Bo Chen" in section and "005A" not in section
    assert "80.0%" in section  # Ann: 8 met, 2 breached in the window; the 2025 week left out
    assert "owner_id" not in section and "week_start_date" not in section


def _cells(html: str, label: str) -> list[str]:
    """The cells of the table row that starts with ``label``, tags stripped."""
    row = re.search(rf"<tr><td[^>]*>{re.escape(label)}</td>(.*?)</tr>", html, re.S).group(1)
    return [
        re.sub(r"<svg.*?</svg>", "[trend]", cell, flags=re.S)
        for cell in re.findall(r"<td[^>]*>(.*?)</td>", row, re.S)
    ]


def test_false_positives_are_split_by_sales_feedback():
    section = render(ReportData(tables=_rows())).split('<section id="accuracy">')[1].split("</section>")[0]
    assert _cells(section, "false positives")[0] == "3"
    assert _cells(section, "… could not contact")[0] == "2"
    assert _cells(section, "… unqualified")[0] == "1"
    assert "no verdict on the score" in section and "the score was wrong" in section
    # the most frequent feedback first
    assert section.index("… could not contact") < section.index("… unqualified")


def test_the_header_compares_last_week_with_the_week_before():
    html = render(ReportData(tables=_rows()))
    header = html.split('<div class="kpis">')[1].split("<nav>")[0]
    assert "this week so far (23 Nov)" in header and "last week (16 Nov)" in header
    assert "week before (09 Nov)" in header
    strip = lambda cells: [re.sub(r"<[^>]+>", "", c) for c in cells]  # noqa: E731
    assert strip(_cells(header, "People first scored")) == ["5", "120", "100", "▲ +20%", "[trend]"]
    assert strip(_cells(header, "New MQLs")) == ["1", "30", "40", "▼ -25%", "[trend]"]
    compliance = _cells(header, "SLA compliance (clocks started)")
    assert strip(compliance)[:4] == ["50.0%", "80.0%", "70.0%", "▲ +10.0 pts"]
    assert 'class="ok"' in compliance[3]
    # fewer minutes is better: down in green
    minutes = _cells(header, "Median minutes to first response")
    assert strip(minutes)[3] == "▼ -20%" and 'class="ok"' in minutes[3]
    assert 'class="warn"' in _cells(header, "New MQLs")[3]
    assert header.count("<svg") == 7  # one trend line per number


def test_a_week_without_a_row_counts_zero_in_the_trend():
    weeks = weekly._every_week(KPI_ROWS)
    assert [w["week_start_date"] for w in weeks][:5] == [WEEK + timedelta(weeks=1 - i) for i in range(5)]
    gap = weeks[3]  # 2 Nov
    assert gap["people_first_scored"] == 0 and gap["sla_compliance_rate"] is None and gap["is_complete_week"]
    assert len(weeks) == weekly.KPI_WEEKS


def test_the_funnel_rates_each_stage_from_the_one_before():
    html = render(ReportData(tables=_rows()))
    section = html.split('<section id="funnel">')[1].split("</section>")[0]
    assert "350 people → 150 MQL → 120 SQL → 30 opportunity → 10 won" in section
    assert _cells(section, "Tier 1 Hot") == [
        "150",
        "150",
        "100.0%",
        "120",
        "80.0%",
        "30",
        "25.0%",
        "10",
        "33.3%",
        "0",
    ]
    # sources by people: Web (both tiers) first
    web = _cells(section, "Web")
    assert web[:3] == ["300", "100", "33.3%"] and web[-1] == "7"
    assert "7 opportunities came from people who never reached" in section
    assert "6 people whose first opportunity came before" in section
    assert "No opportunity has followed a first score yet" not in section


def test_a_section_that_fails_is_reported_by_the_command_and_its_json(settings, monkeypatch, capsys):
    html, failed = render_page(ReportData(tables=_rows()))
    assert failed == {}
    monkeypatch.setitem(weekly.RENDERERS, "funnel", lambda data: 1 / 0)
    html, failed = render_page(ReportData(tables=_rows()))
    assert failed == {"funnel": "division by zero"}
    assert "This section failed to render: division by zero" in html
    settings.warehouse.parent.mkdir(parents=True)
    with duckdb.connect(str(settings.warehouse)) as con:
        con.execute("create schema reporting")
        con.execute("create table reporting.rpt_conversion_by_tier_weekly (tier int, people int)")
        con.execute("create table reporting.rpt_funnel (tier int)")
    assert main(["report", "--json"]) == 1
    written = json.loads(capsys.readouterr().out)
    assert written["sections_failed"] == {"funnel": "division by zero"}
    assert main(["report"]) == 1
    assert (
        "1 sections failed to render (a bug: please report it):\n  funnel: division by zero"
        in capsys.readouterr().out
    )
