"""The learned points table end to end on the education world (event types, titles and
sources no seed knows): person-days replayed point in time from the loaded history, a
scorecard trained on them, saved and promoted, then scored by dbt in SQL, equal to what the
trained model gives in Python, and blended into the composite."""

from __future__ import annotations

import dataclasses
import json

import numpy as np
import pandas as pd
import pytest

from lead_scoring_dev.engines import fixture
from lead_scoring_dev.generate.education import EDUCATION
from tests.support import check_reasons_add_up

END = fixture.END
HORIZON = 30


@pytest.fixture(scope="module")
def world(tmp_path_factory):
    from lead_scoring.config import load_settings
    from lead_scoring.model import train, training_set

    root = tmp_path_factory.mktemp("predictive")
    fixture.build(root, leads=1500, days=100, seed=7, profile=EDUCATION)
    settings = dataclasses.replace(
        load_settings(), warehouse=root / "fixture.duckdb", var_dir=root / "var", crm_source="files"
    )
    window = training_set.TrainingWindow(end=END, days=100, step_days=3, horizon_days=HORIZON)
    frame = training_set.build(settings, window)
    model = train.train(frame, END, train.TrainingOptions(horizon_days=HORIZON))
    return settings, frame, model


def test_person_days_are_point_in_time(world):
    _, frame, _ = world
    days = pd.to_datetime(frame["scored_on"])
    assert days.max() <= pd.Timestamp(END) - pd.Timedelta(days=HORIZON)  # every label is known
    assert frame.groupby(["person_id", "scored_on"]).size().max() == 1
    # features the seeds have never heard of are discovered from the data
    assert any(c.startswith("events:") and "brochure" in c for c in frame.columns), list(frame.columns)
    assert "field:title" in frame.columns and "rules:fit" in frame.columns
    # a person created after a day is not scored on that day
    created = frame["person:days_since_created"].dropna()
    assert (created >= 0).all()


def test_a_sample_of_the_people_keeps_their_person_days_exact(world):
    """Past max_person_days the replay runs on a sample of the people (whole accounts and
    e-mail groups): each kept person-day equals the full history's, features and all."""
    from lead_scoring.model import training_set

    settings, frame, _ = world
    # the fixture's last 6 days (the same days: both count back from END - HORIZON by 3)
    days = HORIZON + 15
    window = training_set.TrainingWindow(end=END, days=days, step_days=3, horizon_days=HORIZON)
    last_days = frame[pd.to_datetime(frame["scored_on"]) >= pd.Timestamp(END) - pd.Timedelta(days=days)]
    sampled = training_set.build(settings, dataclasses.replace(window, max_person_days=len(last_days) // 3))
    # (the share assumes every record on every day: the cap is an upper bound)
    assert 0.03 * len(last_days) < len(sampled) <= len(last_days) // 3
    assert set(sampled["scored_on"]) <= set(last_days["scored_on"])
    keys = ["person_id", "scored_on"]
    expected = last_days.merge(sampled[keys], on=keys).set_index(keys).sort_index()
    got = sampled.set_index(keys).sort_index()
    assert len(expected) == len(got)
    # a feature nobody sampled had on these days: absent for them in the full history too
    unseen = expected.columns.difference(got.columns)
    assert ((expected[unseen].fillna(0) == 0).all()).all()
    pd.testing.assert_frame_equal(got, expected[got.columns], check_exact=False, rtol=1e-9)


def test_the_points_table_beats_rules_that_do_not_know_this_business(world):
    _, _, model = world
    metrics = model.metrics
    assert metrics["rules_auc"] < 0.6
    assert metrics["auc"] > metrics["rules_auc"] + 0.15
    assert metrics["auc"] > 0.7
    assert metrics["yardstick_auc"] is not None and metrics["top_decile_lift"] > 1.5
    assert not {"field:lead_status", "field:is_converted"} & set(model.features_used)


def test_sql_scores_equal_the_trained_model_and_blend_into_the_composite(world):
    from lead_scoring import warehouse
    from lead_scoring.dbt_runner import run_dbt
    from lead_scoring.model import features, store

    settings, _, model = world
    build = ["build", "--select", "+sync_salesforce__leads", "--exclude", "resource_type:test"]
    with warehouse.connect(settings.warehouse) as con:
        warehouse.ensure_schema(con)
        store.save(con, model)
    # saved, not promoted: the hour builds the predictive scores as no rows, without the features
    run_dbt(settings, build, END)
    with warehouse.connect(settings.warehouse) as con:
        assert not predictive_view_reads_features(con)
        (rows,) = con.execute("select count(*) from intermediate.int_people_predictive_scored").fetchone()
        assert rows == 0
        assert con.execute("select count(predictive_score) from marts.lead_scores").fetchone()[0] == 0
        store.promote(con, model.version_id, END)
    run_dbt(settings, build, END)  # the next build scores with the promoted version
    with warehouse.connect(settings.warehouse) as con:
        assert predictive_view_reads_features(con)

    with warehouse.connect(settings.warehouse) as con:
        scores = con.execute(
            "select crm_id, fit_score, intent_score, negative_score, composite_score, predictive_score, "
            "conversion_probability, score_reasons, scoring_model_version from marts.lead_scores"
        ).df()
        long = con.execute("select * from intermediate.int_people_features").df()
        payload = con.execute(
            "select Id as crm_id, Conversion_Probability__c from marts.sync_salesforce__leads"
        ).df()
        weight = con.execute(
            "select value from seeds.scoring_parameters where parameter = 'predictive_weight'"
        ).fetchall()[0][0]
    wide = features.wide(long, ["person_id"]).rename(columns={"person_id": "crm_id"})
    # every scored person, those without any feature row included (model.score completes them)
    people = scores[["crm_id"]].merge(wide, on="crm_id", how="left")
    points = model.score(people)

    expected = np.clip(np.round(points), 0, 100)
    assert np.abs(scores["predictive_score"].to_numpy() - expected).max() <= 1
    assert (scores["predictive_score"].to_numpy() == expected).mean() > 0.99
    probability = 1 / (1 + np.exp(-(model.calibration["slope"] * points + model.calibration["intercept"])))
    np.testing.assert_allclose(scores["conversion_probability"], probability, atol=6e-5)
    # the CRM payload carries the probability of every open Lead
    sent = payload.merge(scores, on="crm_id")
    assert len(sent) == len(payload) > 0
    assert (sent["Conversion_Probability__c"] == sent["conversion_probability"]).all()

    rules = 0.5 * scores["fit_score"] + 0.5 * scores["intent_score"]
    blended = np.clip(
        (1 - weight) * rules + weight * scores["predictive_score"] + scores["negative_score"], 0, 100
    )
    assert np.abs(scores["composite_score"] - np.round(blended)).max() <= 1
    assert (scores["scoring_model_version"].str.endswith("+" + model.version_id)).all()
    # the reasons add up in composite points, the model's share among them
    for reasons, composite, predictive in scores[
        ["score_reasons", "composite_score", "predictive_score"]
    ].itertuples(index=False):
        parts = check_reasons_add_up(reasons, composite)
        assert abs(parts["Model"] - weight * predictive) <= 1, reasons
    assert scores["predictive_score"].std() > 5  # the model separates people; the rules gave 0-6


def test_model_commands_list_and_promote(world, monkeypatch, capsys, tmp_path):
    from lead_scoring import cli, warehouse
    from lead_scoring.reporting.weekly import write_report

    settings, _, model = world
    monkeypatch.setenv("LEADSCORE_WAREHOUSE", str(settings.warehouse))
    monkeypatch.setenv("LEADSCORE_VAR", str(settings.var_dir))
    with warehouse.connect(settings.warehouse) as con:
        warehouse.ensure_schema(con)
        from lead_scoring.model import store

        store.save(con, model)
    assert cli.main(["model", "list"]) == 0
    listing = capsys.readouterr().out
    assert model.version_id in listing and f"{model.metrics['auc']:.3f}" in listing

    assert cli.main(["model", "promote", "m_does_not_exist"]) == 2
    assert "no model version m_does_not_exist" in capsys.readouterr().err

    assert cli.main(["model", "promote", model.version_id]) == 0
    with warehouse.connect(settings.warehouse) as con:
        promoted = con.execute("select version_id from ops.model_versions where is_promoted").fetchall()
        metrics = json.loads(
            con.execute(
                "select metrics from ops.model_versions where version_id = ?", [model.version_id]
            ).fetchall()[0][0]
        )
    assert promoted == [(model.version_id,)]
    assert metrics["auc"] == pytest.approx(model.metrics["auc"])

    # the weekly report's model card reads the live version and its strongest bins
    write_report(settings.warehouse, tmp_path / "weekly_report.html")
    html = (tmp_path / "weekly_report.html").read_text()
    card = html.split('<section id="model">')[1].split("</section>")[0]
    assert f"Live points table <code>{model.version_id}</code>" in card
    assert f"{model.metrics['auc']:.3f}" in card
    strongest = model.points.loc[model.points["bin_label"] != "Special"].groupby("feature")["points"]
    top_feature = (strongest.max() - strongest.min()).idxmax()
    assert top_feature in card


def test_the_weekly_retrain_waits_for_its_interval_and_can_be_turned_off(world):
    """(The DAG test trains and judges a version: tests/e2e/test_dags.py.)"""
    from lead_scoring import warehouse
    from lead_scoring.model import store
    from lead_scoring.model.retrain import retrain_if_due

    settings, _, model = world
    with warehouse.connect(settings.warehouse) as con:
        warehouse.ensure_schema(con)
        store.save(con, model)  # trained as of END
        before = con.execute("select count(*) from ops.model_versions").fetchall()
    outcome = retrain_if_due(settings, END + pd.Timedelta(days=6))
    assert outcome["status"] == "not due" and model.version_id in outcome["reason"]
    off = dataclasses.replace(settings, model_retrain_days=0)
    assert retrain_if_due(off, END + pd.Timedelta(days=30))["status"] == "disabled"
    with warehouse.connect(settings.warehouse) as con:
        assert con.execute("select count(*) from ops.model_versions").fetchall() == before


def test_backtest_with_a_candidate_from_the_model(world):
    """The candidate is trained on what was known before the first scored day and replayed
    beside the seeds; on a business the seeds do not know it ranks far better."""
    from lead_scoring import warehouse
    from lead_scoring.backtest.candidate import model_candidate
    from lead_scoring.backtest.run import BacktestConfig, run_backtest

    settings, _, _ = world
    with warehouse.connect(settings.warehouse) as con:  # the current side: the seeds alone
        con.execute("update ops.model_versions set is_promoted = false")
    # (a 14-day horizon: the fixture's 100 days must hold the backtest's outcomes, the
    # training days, their purge gap and their outcomes)
    candidate, end, model = model_candidate(settings, days=20, end=END, train_days=66, horizon_days=14)
    # the last scored day's 14-day outcome is in the data (its last Lead change is on END's
    # day); training ends at the first scored day
    assert END - pd.Timedelta(days=15) < end <= END - pd.Timedelta(days=14)
    assert model.trained_at == end - pd.Timedelta(days=20)
    config = BacktestConfig(days=20, step_days=10, horizon_days=14, end=end, candidate=candidate)
    summary = run_backtest(settings, config)

    current, challenger = summary["variants"]["current"], summary["variants"]["candidate"]
    assert challenger["auc"] > current["auc"] + 0.1, summary["variants"]
    assert summary["candidate_model_version"].endswith("+" + model.version_id)
    with warehouse.connect(settings.warehouse) as con:
        promoted = con.execute(
            "select is_promoted from ops.model_versions where version_id = ?", [model.version_id]
        ).fetchall()
    assert promoted == [(False,)]  # a backtest candidate is saved, never made live


def predictive_view_reads_features(con) -> bool:
    (sql,) = con.execute(
        "select sql from duckdb_views() where schema_name = 'intermediate' "
        "and view_name = 'int_people_predictive_scored'"
    ).fetchone()
    return "int_people_features" in sql
