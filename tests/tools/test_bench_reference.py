"""The benchmark's reference query and pandas peer compute exactly dbt's scores (fit, intent,
negative, composite, tier of every record), so the equality cannot silently rot when a model
changes: a small generated world (300 leads), dbt's scoring models as of two days before
the data ends (records modified and activities after it must be ignored), both peers
compared row for row with marts.lead_scores. About 10 s."""

from __future__ import annotations

from dataclasses import replace
from datetime import timedelta

import duckdb
import pytest

from lead_scoring.dbt_runner import run_dbt
from lead_scoring_dev.bench import pandas_peer, reference
from lead_scoring_dev.engines import fixture

AS_OF = fixture.END - timedelta(days=2, hours=3)


@pytest.fixture(scope="module")
def warehouse(tmp_path_factory):
    from lead_scoring.config import load_settings

    root = tmp_path_factory.mktemp("bench_reference")
    fixture.build(root, leads=300, days=60, seed=11)
    settings = replace(load_settings(), warehouse=root / "fixture.duckdb")
    run_dbt(
        settings,
        ["build", "-s", "+lead_scores", "--resource-type", "seed", "--resource-type", "model"],
        AS_OF,
    )
    con = duckdb.connect(str(settings.warehouse))
    reference.configure(con)
    later = con.execute(
        "select (select count(*) from raw_map.events where occurred_at > ?)"
        " + (select count(*) from raw_salesforce.lead where systemmodstamp > ?)",
        [AS_OF, AS_OF],
    ).fetchall()[0][0]
    assert later > 0, "the fixture must hold rows after as_of, or the as_of filters go untested"
    yield con
    con.close()


def test_the_fixture_exercises_every_part_of_the_score(warehouse):
    """Equality means something only if the world has what the models handle specially."""
    parts = warehouse.execute(
        """select
            (select count(*) from marts.lead_scores where duplicate_count > 1),
            (select count(*) from marts.lead_scores where is_disqualified),
            (select count(distinct tier) from marts.lead_scores),
            (select count(*) from intermediate.int_score_contributions_merged
             where rule_id = 'account_engagement_bonus'),
            (select count(*) from intermediate.int_sequences_completed),
            (select count(*) from intermediate.int_score_contributions_merged
             where rule_id = 'recency_bonus')"""
    ).fetchall()[0]
    assert all(parts), dict(
        zip(
            ["duplicates", "disqualified", "tiers", "account_bonus", "sequences", "recency"],
            parts,
            strict=True,
        )
    )
    assert parts[2] == 4


def assert_equal(comparison: reference.Comparison) -> None:
    assert comparison.rows_dbt > 300
    assert comparison.equal, comparison.as_dict()


def test_reference_query_gives_dbt_scores(warehouse):
    reference.run_reference(warehouse, AS_OF)
    assert_equal(reference.compare_with_dbt(warehouse, "reference_scores"))


def test_pandas_peer_gives_dbt_scores(warehouse):
    scores, _ = pandas_peer.run_pandas(warehouse, AS_OF)
    warehouse.register("pandas_scores", scores)
    assert_equal(reference.compare_with_dbt(warehouse, "pandas_scores"))


def test_a_changed_score_is_reported_as_a_mismatch(warehouse):
    scores, _ = pandas_peer.run_pandas(warehouse, AS_OF)
    scores.loc[scores.index[0], "intent_score"] += 1
    warehouse.register("tampered_scores", scores)
    comparison = reference.compare_with_dbt(warehouse, "tampered_scores")
    assert not comparison.equal
    assert comparison.mismatches == 1
    assert comparison.examples[0]["crm_id"] == scores.iloc[0]["crm_id"]
