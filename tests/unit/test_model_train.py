"""The points table's training core on person-days made here: a hidden propensity on a
categorical and an event count, noise, and planted leaks."""

from __future__ import annotations

import json
from datetime import datetime, timedelta

import numpy as np
import pandas as pd
import pytest

from lead_scoring.model.train import (
    TrainingError,
    TrainingOptions,
    at_mql_volume,
    guard_features,
    split_by_time,
    train,
)

START = datetime(2026, 6, 1)
TRAINED_AT = datetime(2026, 10, 1)


def person_days(people: int = 3000, days: int = 60, seed: int = 3) -> pd.DataFrame:
    """One row per person on one of ``days`` scoring days; the label follows industry and
    pricing visits through a logistic propensity; ``noise`` is independent of it."""
    rng = np.random.default_rng(seed)
    industry = rng.choice(["Software", "Retail", "Education", "Finance"], size=people)
    pricing = rng.poisson(1.0, size=people).astype(float)
    pricing[rng.random(people) < 0.1] = np.nan  # never tracked: the Missing bin
    logit = -2.2 + np.select([industry == "Software", industry == "Retail"], [1.4, -0.8], 0.0)
    logit = logit + 0.7 * np.nan_to_num(pricing)
    label = rng.random(people) < 1 / (1 + np.exp(-logit))
    return pd.DataFrame(
        {
            "person_id": [f"p{i}" for i in range(people)],
            "scored_on": [START + timedelta(days=int(d)) for d in rng.integers(0, days, size=people)],
            "label": label,
            "rules_score": rng.random(people) * 100,  # rules that know nothing
            "lead.industry": industry,
            "events_30d:pricing_page": pricing,
            "noise": rng.normal(size=people),
        }
    )


@pytest.fixture(scope="module")
def model():
    return train(person_days(), TRAINED_AT)


def test_the_split_holds_out_the_latest_days_and_only_known_outcomes():
    frame = person_days()
    frame.loc[0, "scored_on"] = TRAINED_AT - timedelta(days=5)  # its 30-day outcome is unknown yet
    train_mask, valid_mask = split_by_time(frame, TRAINED_AT, TrainingOptions())
    assert not train_mask[0] and not valid_mask[0]
    # every training label was known before the first validation day: a 30-day gap
    first_valid = frame.loc[valid_mask, "scored_on"].min()
    assert frame.loc[train_mask, "scored_on"].max() + timedelta(days=30) <= first_valid
    assert frame.loc[train_mask, "scored_on"].max() + timedelta(days=31) > first_valid
    # the validation days are the latest quarter of the days with a known outcome
    known_days = frame.loc[frame["scored_on"] + timedelta(days=30) <= TRAINED_AT, "scored_on"].nunique()
    assert abs(frame.loc[valid_mask, "scored_on"].nunique() - known_days / 4) <= 1


def test_too_little_history_is_a_clear_error():
    frame = person_days()
    with pytest.raises(TrainingError, match="known outcome"):
        train(frame, START + timedelta(days=20))


def test_the_points_table_ranks_people_like_the_yardstick(model):
    metrics = model.metrics
    assert metrics["auc"] > 0.7
    assert metrics["auc"] >= metrics["yardstick_auc"] - 0.02
    assert metrics["auc"] > metrics["rules_auc"] + 0.15
    assert metrics["top_decile_lift"] > 1.5
    assert 0 <= metrics["calibration_error"] < 0.05
    # as many people handed to sales as the (random) rules call MQL, and more of them convert
    assert 0.5 < metrics["mql_share"] < 0.7
    assert metrics["precision"] > metrics["rules_precision"] + 0.05


def test_precision_and_recall_compare_the_same_number_of_people_as_the_rules_mqls():
    valid = pd.DataFrame({"rules_score": [50.0, 10, 45, 0, 0]})  # the rules call 2 of 5 MQL
    metrics = at_mql_volume(np.array([5.0, 4, 3, 2, 1]), valid, np.array([1, 1, 0, 0, 0]), 40)
    assert metrics["mql_share"] == 0.4
    assert (metrics["precision"], metrics["recall"], metrics["accuracy"]) == (1.0, 1.0, 1.0)
    assert (metrics["rules_precision"], metrics["rules_recall"]) == (0.5, 0.5)


def test_a_score_is_the_sum_of_the_points_of_each_features_bin(model):
    frame = person_days(people=200, seed=9)
    points = model.points
    total = np.zeros(len(frame))
    for feature, bins in points.groupby("feature"):
        values = frame[feature]
        for i, value in enumerate(values):
            if pd.isna(value):
                row = bins[bins["bin_label"] == "Missing"]
            elif bins["categories"].notna().any():
                row = bins[
                    bins["categories"].map(lambda c, v=value: isinstance(c, str) and str(v) in json.loads(c))
                ]
            else:
                inside = bins["bin_label"].ne("Missing") & bins["bin_label"].ne("Special")
                lower = bins["lower"].isna() | (bins["lower"] <= value)
                upper = bins["upper"].isna() | (value < bins["upper"])
                row = bins[inside & lower & upper]
            assert len(row) == 1, (feature, value, row)
            total[i] += row["points"].iloc[0]
    np.testing.assert_allclose(total, model.score(frame), atol=1e-6)


def test_scores_spread_over_0_to_100_and_the_probability_follows_the_points(model):
    scores = model.score(person_days())  # the person-days it was deployed on
    low, high = np.percentile(scores, [1, 99])
    assert abs(low) < 0.5 and abs(high - 100) < 0.5
    slope = model.calibration["slope"]
    probability = 1 / (1 + np.exp(-(slope * scores + model.calibration["intercept"])))
    frame = person_days()
    top = scores >= np.percentile(scores, 90)
    assert slope > 0
    # calibrated: the predicted and observed conversion of the top decile agree
    assert abs(probability[top].mean() - frame["label"][top].mean()) < 0.05


def test_outcome_fields_and_a_near_perfect_feature_are_refused_and_named():
    frame = person_days()
    frame["lead.IsConverted"] = frame["label"]  # an outcome field, by name
    frame["crm.Reached_Stage__c"] = np.where(frame["label"], "Deal", "Open")  # a leak by behaviour
    model = train(frame, TRAINED_AT)
    refused = {r.feature: r.reason for r in model.features_refused}
    assert "outcome field" in refused["lead.IsConverted"]
    assert "alone separates the validation labels" in refused["crm.Reached_Stage__c"]
    assert not {"lead.IsConverted", "crm.Reached_Stage__c"} & set(model.features_used)
    assert set(model.features_used) == {"lead.industry", "events_30d:pricing_page"}
    assert "too little information" in refused["noise"]


def test_a_near_perfect_feature_allowed_by_name_passes_the_guard():
    frame = person_days()
    frame["crm.Reached_Stage__c"] = np.where(frame["label"], "Deal", "Open")
    options = TrainingOptions(allowed_features=frozenset({"crm.Reached_Stage__c"}))
    train_mask, valid_mask = split_by_time(frame, TRAINED_AT, options)
    used, refused = guard_features(frame, train_mask, valid_mask, options)
    assert "crm.Reached_Stage__c" in used and not refused


def test_a_saved_version_reads_back_and_saving_it_again_writes_nothing_twice(model):
    import duckdb

    from lead_scoring import warehouse
    from lead_scoring.model import store

    con = duckdb.connect()
    warehouse.ensure_schema(con)
    store.save(con, model)
    store.save(con, model)
    versions = con.execute("select version_id, metrics, is_promoted from ops.model_versions").fetchall()
    assert [(v, promoted) for v, _, promoted in versions] == [(model.version_id, False)]
    assert json.loads(versions[0][1])["auc"] == model.metrics["auc"]
    saved = store.points_of(con, model.version_id)
    assert len(saved) == len(model.points)
    assert saved["points"].sum() == pytest.approx(model.points["points"].sum())


def test_a_category_with_more_values_than_the_yardstick_takes_still_trains():
    frame = person_days()
    frame["field:technologies"] = [f"stack {i % 600}" for i in range(len(frame))]  # 600 values
    model = train(frame, TRAINED_AT)
    assert model.metrics["yardstick_auc"] is not None


def test_many_person_days_train_on_a_sample_of_the_people(tmp_path):
    import dataclasses

    import duckdb

    from lead_scoring.model.training_set import TrainingWindow, people_share

    history = tmp_path / "history.duckdb"
    with duckdb.connect(str(history)) as con:
        con.execute("create schema raw_salesforce")
        # 6,000 Leads (some in two versions) and 4,000 Contacts
        con.execute('create table raw_salesforce.lead as select range % 6000 as "Id" from range(9000)')
        con.execute('create table raw_salesforce.contact as select range as "Id" from range(4000)')
    window = TrainingWindow(end=TRAINED_AT, days=90, step_days=3, max_person_days=21_000)
    messages = []
    # 10,000 people on 21 days: 210,000 person-days at most, a tenth of the people is kept
    assert people_share(history, window, messages.append) == pytest.approx(0.1)
    assert "sample of 10% of the people" in messages[0]
    roomy = dataclasses.replace(window, max_person_days=210_000)
    assert people_share(history, roomy, messages.append) == 1.0 and len(messages) == 1


def test_the_people_sample_keeps_accounts_and_email_groups_whole(tmp_path):
    """A Contact goes with its Account, a Lead with the Contact of its e-mail; the MAP rows
    of the people left out go too, those of the people kept (by CRM id or e-mail) stay."""
    import duckdb

    from lead_scoring.replay.history import sample_people

    history = tmp_path / "history.duckdb"
    with duckdb.connect(str(history)) as con:
        con.execute("create schema raw_salesforce; create schema raw_map")
        # 400 accounts of 3 Contacts; 1,200 Leads, the first 600 sharing a Contact's e-mail
        con.execute(
            "create table raw_salesforce.contact as select 'c' || range as id, "
            "'a' || (range // 3) as accountid, 'c' || range || '@x.com' as email from range(1200)"
        )
        con.execute(
            "create table raw_salesforce.lead as select 'l' || range as id, case when range < 600 "
            "then ' C' || range || '@X.com' else 'l' || range || '@y.com' end as email from range(1200)"
        )
        con.execute(
            "create table raw_map.events as select 'e' || range as id, "
            "case when range % 2 = 0 then 'l' || range end as crm_id, "
            "case when range % 2 = 1 then 'l' || range || '@y.com' end as email from range(600, 1200)"
        )
        con.execute(
            "create table raw_map.marketo_leads as select range as id, null as sfdcleadid, 'c' || range as "
            "sfdccontactid, null as email from range(1200)"
        )
        con.execute(
            "create table raw_map.marketo_activities as select range % 1200 as leadid from range(2400)"
        )
    kept = sample_people(history, 0.5)
    with duckdb.connect(str(history)) as con:
        contacts = con.execute("select id, accountid from raw_salesforce.contact").df()
        leads = set(con.execute("select id from raw_salesforce.lead").df()["id"])
        events = con.execute("select crm_id, email from raw_map.events").df()
        marketo = set(con.execute("select sfdccontactid from raw_map.marketo_leads").df()["sfdccontactid"])
        activities = con.execute("select count(*) from raw_map.marketo_activities").fetchone()[0]
    assert 0.35 < kept["contact"] / 1200 < 0.65 and 0.35 < kept["lead"] / 1200 < 0.65
    assert (contacts.groupby("accountid").size() == 3).all()  # whole accounts
    kept_contacts = set(contacts["id"])
    assert {f"l{i}" for i in range(600)} & leads == {f"l{i}" for i in range(600) if f"c{i}" in kept_contacts}
    assert marketo == kept_contacts and activities == 2 * len(kept_contacts)
    kept_events = set(events["crm_id"].dropna()) | {e.split("@")[0] for e in events["email"].dropna()}
    assert kept_events == {lead for lead in leads if int(lead[1:]) >= 600}
