"""Backtest metrics on hand-made histories whose AUC, lift and rates are known by hand."""

from __future__ import annotations

from datetime import datetime, timedelta

import pytest

from lead_scoring.backtest import metrics
from lead_scoring.backtest.run import comparison_rows, label_rows, scoring_days


def test_auc_perfect_inverse_and_random():
    assert metrics.auc([0.9, 0.8, 0.2, 0.1], [True, True, False, False]) == 1.0
    assert metrics.auc([0.1, 0.2, 0.8, 0.9], [True, True, False, False]) == 0.0
    assert metrics.auc([0.5, 0.5, 0.5, 0.5], [True, False, True, False]) == 0.5


def test_auc_by_hand_with_a_tie():
    # positives 3, 2; negatives 2, 1 -> pairs (3>2) (3>1) (2=2: 1/2) (2>1) = 3.5 of 4
    assert metrics.auc([3, 2, 2, 1], [True, True, False, False]) == pytest.approx(0.875)
    # one class only: undefined
    assert metrics.auc([1, 2], [False, False]) is None
    with pytest.raises(ValueError):
        metrics.auc([1, 2], [True])


def test_top_decile_lift_by_hand():
    # one day, 20 people: top 10% = 2 people, both convert; 4 of 20 convert overall
    scores = list(range(20, 0, -1))
    labels = [True, True] + [False] * 8 + [True, True] + [False] * 8
    lift = metrics.top_decile_lift(["d1"] * 20, [f"p{i}" for i in range(20)], scores, labels)
    assert lift == pytest.approx((2 / 2) / (4 / 20))  # 5.0


def test_top_decile_is_taken_per_day():
    # day 1: 10 people, top 1 converts; day 2: 10 people, the top 1 does not, the last does
    groups = ["d1"] * 10 + ["d2"] * 10
    ids = [f"p{i}" for i in range(10)] * 2
    scores = list(range(10, 0, -1)) * 2
    labels = [True] + [False] * 9 + [False] * 9 + [True]
    # top rows: 1 of 2 convert; overall 2 of 20 -> (1/2) / (2/20) = 5
    assert metrics.top_decile_lift(groups, ids, scores, labels) == pytest.approx(5.0)


def test_conversion_and_share_by_tier():
    tiers = [1, 1, 2, 2, 2, 2, 3, 3, 3, 3]
    labels = [True, False, True, False, False, False, False, False, False, False]
    stats = metrics.by_tier(tiers, labels)
    assert stats[1]["conversion_rate"] == 0.5 and stats[1]["tier_share"] == 0.2
    assert stats[2]["conversion_rate"] == 0.25 and stats[2]["tier_share"] == 0.4
    assert stats[3]["conversion_rate"] == 0.0
    assert stats[4]["conversion_rate"] is None and stats[4]["person_days"] == 0


def test_labels_use_only_what_followed_within_the_horizon():
    day1, day2 = datetime(2026, 9, 1), datetime(2026, 9, 8)
    rows = [
        (day1, "a", 80.0, 1),  # opportunity 5 days later: positive
        (day2, "a", 85.0, 1),  # already has the opportunity on day 2: left out
        (day1, "b", 10.0, 3),  # opportunity 40 days later: outside a 30-day horizon
        (day2, "b", 12.0, 3),  # 33 days later: still outside
        (day1, "c", 50.0, 2),  # never
    ]
    first = {"a": day1 + timedelta(days=5), "b": day1 + timedelta(days=40)}
    days, ids, scores, tiers, labels = label_rows(rows, first, horizon_days=30)
    assert ids == ["a", "b", "b", "c"]
    assert labels == [True, False, False, False]
    summary = metrics.summarize(days, ids, scores, tiers, labels)
    assert summary["auc"] == 1.0 and summary["days_scored"] == 2 and summary["positives"] == 1


def test_scoring_days_and_side_by_side_rows():
    end = datetime(2026, 11, 22, 21)
    days = scoring_days(end, 90, 7)
    assert days[-1] == end and days[0] == end - timedelta(days=84) and len(days) == 13
    assert len(scoring_days(end, 90, 1)) == 91
    summary = metrics.summarize(
        ["d"] * 4, list("abcd"), [4, 3, 2, 1], [1, 2, 3, 4], [True, False, True, False]
    )
    better = metrics.summarize(
        ["d"] * 4, list("abcd"), [4, 2, 3, 1], [1, 2, 3, 4], [True, False, True, False]
    )
    rows = {(r["metric"], r["tier"]): r for r in comparison_rows(summary, better)}
    assert rows[("auc", None)]["current_value"] == 0.75
    assert rows[("auc", None)]["candidate_value"] == 1.0
    assert rows[("auc", None)]["difference"] == 0.25
    assert rows[("tier_share", 1)]["current_value"] == 0.25
