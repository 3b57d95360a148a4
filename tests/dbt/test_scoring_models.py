"""dbt build on hand-made fixture rows: every score is checked against a hand computation
from the seeds, so a change to a formula or a seed shows up here."""

from __future__ import annotations

import math
from datetime import datetime
from pathlib import Path

import pytest
import yaml

from lead_scoring import warehouse
from lead_scoring.dbt_runner import run_dbt

AS_OF = datetime(2026, 11, 1, 0, 0, 0)
WORLD = Path(__file__).parent / "cases" / "scoring_world.yml"  # the raw rows, by table


def insert(con, table: str, rows: list[dict]) -> None:
    for row in rows:
        row = {**row, "_batch_id": "fixture", "_loaded_at": AS_OF, "_source": "test"}
        cols = ", ".join(f'"{c}"' for c in row)
        marks = ", ".join("?" for _ in row)
        con.execute(f"insert into {table} ({cols}) values ({marks})", list(row.values()))


@pytest.fixture(scope="module")
def scored(tmp_path_factory):
    import os

    from lead_scoring.config import load_settings

    root = tmp_path_factory.mktemp("dbt_fixture")
    os.environ["LEADSCORE_WAREHOUSE"] = str(root / "w.duckdb")
    settings = load_settings()
    with warehouse.connect(settings.warehouse) as con:
        warehouse.ensure_schema(con)
        for table, rows in yaml.safe_load(WORLD.read_text()).items():
            insert(con, table, rows)
    # models, seeds and data tests; the unit tests are test_dbt_unit_tests'
    run_dbt(settings, ["build", "--exclude-resource-type", "unit_test"], AS_OF)
    with warehouse.connect(settings.warehouse) as con:
        scores = {
            row["crm_id"]: row
            for row in con.execute("select * from marts.lead_scores").df().to_dict("records")
        }
        contributions = con.execute(
            "select person_id, component, sum(points) from intermediate.int_score_contributions_unioned "
            "group by all"
        ).fetchall()
        payload = con.execute("select * from marts.sync_salesforce__leads order by Id").df()
        accounts = con.execute("select * from marts.account_scores").df().to_dict("records")
        duplicates = con.execute("select * from marts.duplicate_people").df().to_dict("records")
        account_payload = con.execute("select * from marts.sync_salesforce__accounts").df()
    return scores, contributions, payload, accounts, account_payload, duplicates


def test_only_live_records_are_scored(scored):
    scores, *_ = scored
    assert set(scores) == {
        "00Q000000000001AAA",
        "00Q000000000002AAA",
        "00Q000000000003AAA",
        "00Q000000000005AAA",
        "003000000000001AAA",
    }


def test_hot_lead_matches_a_hand_computation_from_the_seeds(scored):
    scores, *_ = scored
    lead = scores["00Q000000000001AAA"]
    # fit: Software 20 + 200-999 employees 20 + US 12 + VP 12 + Marketing 12 + Salesforce 10
    # + Snowflake 10
    assert lead["fit_score"] == 96
    # intent: pricing 15·0.5^(2/7) + demo 40·0.5^(1/21) + recency bonus 5 + the sequence
    # pricing (10-30) > demo request (10-31) within 7 days, 10·0.5^(1/21) from its completion
    intent = 15 * 0.5 ** (2 / 7) + 40 * 0.5 ** (1 / 21) + 5 + 10 * 0.5 ** (1 / 21)
    assert lead["intent_score"] == round(intent)
    assert lead["composite_score"] == round(0.5 * 96 + 0.5 * round(intent))
    assert (lead["tier"], lead["tier_label"], lead["grade"]) == (1, "Hot", "A1")
    assert lead["is_mql"] and lead["is_sql"] and not lead["is_disqualified"]
    assert lead["email"] == "l1@acme.io"
    # the reasons in composite points: fit 96 x 0.5 = 48 (Software 20 -> +10, ...); intent
    # 65.7 -> 66 x 0.5 = 33, each signal x 0.5 x 66/65.7 (demo 38.7 -> +19, pricing 12.3 -> +6,
    # the sequence 9.7 -> +5, the recency bonus 5 -> +3 unlisted); 48 + 33 = 81
    assert lead["score_reasons"] == (
        "81 = Fit 48 [Employees 200-999 +10, Industry: Software +10, Country: United States +6, "
        "4 more +22] + Intent 33 [Demo request +19 (2026-10-31), Pricing page visit +6 (2026-10-30), "
        "Journey: pricing > demo request +5 (2026-10-31), 1 more +3]"
    )


def test_contact_scores_from_its_account_and_its_duplicate_lead(scored):
    scores, *_ = scored
    contact = scores["003000000000001AAA"]
    # Software 20 + 1000-5000 20 + US 12 + Director 12 + Revenue Operations 12 (the Contact is
    # the survivor: its title and Account win over the duplicate Lead's)
    assert contact["fit_score"] == 76
    # its webinar + the duplicate Lead's pricing visit + the recency bonus that visit earns
    intent = 12 * 0.5 ** (10 / 30) + 15 * 0.5 ** (2 / 7) + 5
    assert contact["intent_score"] == round(intent)
    assert contact["composite_score"] == round(0.5 * 76 + 0.5 * round(intent) + 1e-9)
    assert contact["tier"] == 2


def test_duplicates_get_one_score_written_to_each_record(scored):
    scores, contributions, payload, *_ = scored
    contact, lead = scores["003000000000001AAA"], scores["00Q000000000005AAA"]
    columns = ("fit_score", "intent_score", "negative_score", "composite_score", "tier", "grade")
    assert [lead[c] for c in columns] == [contact[c] for c in columns]
    assert lead["score_reasons"] == contact["score_reasons"]
    assert lead["person_key"] == contact["person_key"] == "003000000000001AAA"
    assert lead["duplicate_group"] == contact["duplicate_group"] == "003000000000001AAA|00Q000000000005AAA"
    assert (lead["duplicate_count"], lead["crm_object"], lead["email"]) == (2, "Lead", "c1@beta.com")
    single = scores["00Q000000000001AAA"]
    assert (single["person_key"], single["duplicate_count"]) == ("00Q000000000001AAA", 1)
    assert single["duplicate_group"] is None or math.isnan(single["duplicate_group"])
    # each record keeps its own contribution rows
    by_record = {(person_id, component) for person_id, component, _ in contributions}
    assert ("00Q000000000005AAA", "fit") in by_record and ("003000000000001AAA", "fit") in by_record
    assert "00Q000000000005AAA" in set(payload["Id"])


def test_negatives_and_disqualifiers(scored):
    scores, *_ = scored
    student = scores["00Q000000000002AAA"]
    assert student["negative_score"] == -10 - 25 - 10  # personal e-mail, student, inactive
    assert (student["composite_score"], student["tier"], student["is_disqualified"]) == (0, 4, False)
    competitor = scores["00Q000000000003AAA"]
    assert competitor["is_disqualified"] and competitor["tier"] == 4
    assert competitor["score_reasons"].endswith("+ Negative -100 [Competitor email domain -100]")


def test_scores_are_sums_of_contributions(scored):
    scores, contributions, *_ = scored
    for person_id, component, points in contributions:
        column = {"fit": "fit_score", "intent": "intent_score", "negative": "negative_score"}[component]
        expected = min(max(points, 0), 100) if component != "negative" else points
        assert scores[person_id][column] == round(expected), (person_id, component)


def test_payload_is_the_allow_listed_crm_fields_of_open_leads(scored):
    scores, _, payload, *_ = scored
    assert list(payload.columns) == [
        "Id",
        "Lead_Score__c",
        "Fit_Score__c",
        "Intent_Score__c",
        "Lead_Tier__c",
        "Lead_Grade__c",
        "Score_Reasons__c",
        "Score_Model_Version__c",
        "Conversion_Probability__c",
        "Scored_At__c",
        "OwnerId",
        "SLA_Due_At__c",
        "SLA_Status__c",
        "_crm_owner_id",  # context: the CRM's owner as extracted, never sent
    ]
    assert payload["OwnerId"].notna().all()  # routed owner (a rep or a queue), never cleared
    assert list(payload["Id"]) == [
        "00Q000000000001AAA",
        "00Q000000000002AAA",
        "00Q000000000003AAA",
        "00Q000000000005AAA",
    ]
    hot = payload.iloc[0]
    assert hot["Lead_Tier__c"] == "1 - Hot"
    assert hot["Lead_Score__c"] == scores["00Q000000000001AAA"]["composite_score"]
    assert not math.isnan(hot["Fit_Score__c"])
    assert hot["Score_Model_Version__c"].startswith("v1-")
    assert math.isnan(hot["Conversion_Probability__c"])  # no model version promoted
    assert hot["Scored_At__c"] == AS_OF


def test_account_scores_roll_up_fit_and_people(scored):
    scores, _, _, accounts, account_payload, _ = scored
    (account,) = accounts
    # Software 20 + 1000-5000 employees 20 + United States 12 (title rules are people-only)
    assert account["account_fit_score"] == 52
    contact_intent = scores["003000000000001AAA"]["intent_score"]
    assert account["account_engagement_score"] == contact_intent
    assert (account["people_count"], account["engaged_people"]) == (1, 1)
    assert account["account_score"] == round(0.5 * 52 + 0.5 * contact_intent)
    assert list(account_payload.columns) == [
        "Id", "Account_Score__c", "Account_Fit_Score__c", "Account_Engagement_Score__c",
        "Engaged_People__c", "Score_Model_Version__c", "Scored_At__c",
    ]  # fmt: skip
    assert account_payload.iloc[0]["Account_Score__c"] == account["account_score"]


def test_duplicate_people_report(scored):
    scores, *_, duplicates = scored
    (group,) = duplicates
    assert group["person_key"] == "003000000000001AAA"
    assert group["duplicate_group"] == "003000000000001AAA|00Q000000000005AAA"
    assert (group["record_count"], group["lead_count"], group["contact_count"]) == (2, 1, 1)
    assert group["survivor_crm_object"] == "Contact"
    assert group["composite_score"] == scores["003000000000001AAA"]["composite_score"]


def test_explain_takes_the_hot_lead_apart(scored):
    """`leadscore explain` (the installed command, its own process) on the hand-computed lead:
    each rule, each signal's occurrences and decay, weights, the clamp, the tier ladder."""
    import json
    import os
    import subprocess
    import sys

    command = [str(Path(sys.executable).parent / "leadscore"), "explain"]
    env = dict(os.environ)
    text = subprocess.run([*command, "00Q000000000001AAA"], env=env, capture_output=True, text=True)
    assert text.returncode == 0, text.stderr
    lines = text.stdout
    assert "Fit 96 = the rules' sum 96.0 clamped to 0-100, × weight 0.5 → 48.0 composite points" in lines
    assert "Intent 66 = the rules' sum 65.7 clamped to 0-100, × weight 0.5 → 33.0 composite points" in lines
    assert "Demo request  (1 counted × 40 points, half-life 21d, latest 1.0d ago)" in lines
    assert "+20  Industry: Software" in lines
    assert "Composite: 48.0 + 33.0 + 0.0 = 81.0, rounded: 81" in lines
    assert "  ✓ composite ≥ 60 and fit ≥ 50 → Tier 1" in lines
    assert lines.splitlines()[2] == "reasons: " + scored[0]["00Q000000000001AAA"]["score_reasons"]

    as_json = json.loads(
        subprocess.run(
            [*command, "003000000000001AAA", "--json"], env=env, capture_output=True, text=True, check=True
        ).stdout
    )
    fit = as_json["components"]["fit"]
    assert fit["sum"] == sum(rule["points"] for rule in fit["rules"]) == 76
    assert as_json["duplicate_group"] == "003000000000001AAA|00Q000000000005AAA"
    # the Contact's intent includes the duplicate Lead's pricing visit: one person
    assert {"webinar_attended", "pricing_page_visit"} <= {
        r["rule_id"] for r in as_json["components"]["intent"]["rules"]
    }

    unknown = subprocess.run([*command, "00Q_NOT_AN_ID"], env=env, capture_output=True, text=True)
    assert unknown.returncode == 2 and "Traceback" not in unknown.stderr
    assert unknown.stderr.strip().startswith(
        "leadscore explain: no score for '00Q_NOT_AN_ID' among the 5 records"
    )
