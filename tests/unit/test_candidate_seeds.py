"""The candidate seed folder of ``--candidate-from-win-analysis``: points replaced where the
win analysis suggests it, and new rules appended for values no seed covered."""

from __future__ import annotations

import csv
from pathlib import Path

import duckdb

from lead_scoring.backtest.candidate import new_rules, write_candidate_seeds

FIT = "rule_id,attribute,operator,match_value,min_value,max_value,points,label\n" + (
    "industry_software,industry,equals,Software,,,20,Industry: Software\n"
)
INTENT = (
    "signal_id,event_type,url_pattern,priority,points,half_life_days,max_occurrences,cap_window_days,"
    "expiry_days,label\ndemo_request,demo_request,,1,40,21,1,30,90,Demo request\n"
)


def _rows(path: Path) -> list[dict[str, str]]:
    with path.open(newline="") as handle:
        return list(csv.DictReader(handle))


def _lift_table(tmp_path: Path) -> Path:
    warehouse = tmp_path / "w.duckdb"
    with duckdb.connect(str(warehouse)) as con:
        con.execute("create schema reporting")
        con.execute(
            "create table reporting.rpt_icp_attribute_lift (component varchar, attribute varchar, "
            "attribute_value varchar, suggested_points integer, has_rule boolean, has_enough_people boolean)"
        )
        con.execute(
            """insert into reporting.rpt_icp_attribute_lift values
            ('fit', 'lead_source', 'reference', 23, false, true),
            ('fit', 'lead_source', 'google', 0, false, true),          -- explained by fit: no rule
            ('fit', 'state', 'ut', 12, false, false),                  -- too few people
            ('fit', 'industry', 'software', 25, true, true),           -- has a rule already
            ('intent', 'event_type', 'phone_conversation', 30, false, true),
            ('intent', 'event_url', 'page_visit https://edu.test/fees%20and_aid', 26, false, true)"""
        )
    return warehouse


def test_new_rules_for_values_no_seed_covers(tmp_path):
    additions = new_rules(_lift_table(tmp_path))
    (fit,) = additions["fit_rules.csv"]
    assert fit == {
        "rule_id": "new_lead_source_reference", "attribute": "lead_source", "operator": "equals",
        "match_value": "reference", "points": "23", "label": "Lead source: reference",
    }  # fmt: skip
    by_id = {row["signal_id"]: row for row in additions["intent_signals.csv"]}
    generic = by_id["new_phone_conversation"]
    assert generic["event_type"] == "phone_conversation"
    assert (generic["url_pattern"], generic["priority"]) == ("", "9")
    page = by_id["new_page_visit_https_edu_test_fees_20and_aid"]
    # the page wins over a generic signal of its event type; its own % cannot act as a wildcard
    assert (page["event_type"], page["priority"], page["points"]) == ("page_visit", "1", "26")
    assert page["url_pattern"] == "https://edu.test/fees_20and_aid%"


def test_candidate_seeds_replace_points_and_append_new_rules_once(tmp_path):
    seeds = tmp_path / "seeds"
    seeds.mkdir()
    (seeds / "fit_rules.csv").write_text(FIT)
    (seeds / "intent_signals.csv").write_text(INTENT)
    additions = new_rules(_lift_table(tmp_path))
    additions["fit_rules.csv"].append({"rule_id": "industry_software", "points": "99"})  # known id
    out = tmp_path / "candidate"
    changed = write_candidate_seeds(seeds, {"fit": {"industry_software": 25}}, out, additions)
    assert changed == {"fit_rules.csv": 2, "intent_signals.csv": 2}
    fit = _rows(out / "fit_rules.csv")
    assert [(r["rule_id"], r["points"], r["min_value"]) for r in fit] == [
        ("industry_software", "25", ""),
        ("new_lead_source_reference", "23", ""),
    ]
    intent = _rows(out / "intent_signals.csv")
    assert [r["signal_id"] for r in intent][0] == "demo_request" and len(intent) == 3
    assert all(r["half_life_days"] and r["expiry_days"] for r in intent)
