"""The A/B pilot's statistics (lead_scoring.versions.pilot_stats) on hand-checked values, and
simulated pilots: a planted better challenger reaches "challenger better"; an identical one
gives a false verdict in at most alpha plus noise of 40 pilots."""

from __future__ import annotations

import hashlib
import math

import numpy as np
import pytest

from lead_scoring.versions import pilot_stats
from lead_scoring.versions.pilot import arm_of

SETTINGS = {"share": 0.2, "alpha": 0.05, "power": 0.8, "min_lift": 0.2, "min_days": 14}


def test_wilson_interval_matches_the_textbook_values():
    low, high = pilot_stats.wilson_interval(10, 100)
    assert (round(low, 4), round(high, 4)) == (0.0552, 0.1744)  # Newcombe (1998), 10/100
    assert pilot_stats.wilson_interval(0, 0) == (None, None)
    low, high = pilot_stats.wilson_interval(0, 20)
    assert low == 0 and 0.15 < high < 0.17  # never below 0, unlike the Wald interval


def test_two_proportion_test_by_hand():
    # 50/500 against 75/500: pooled 0.125, se = sqrt(0.125 * 0.875 * 2/500), z = 0.05 / se
    z = 0.05 / math.sqrt(0.125 * 0.875 * 2 / 500)
    expected = 2 * (1 - pilot_stats.NORMAL.cdf(z))
    assert pilot_stats.two_proportion_p_value(50, 500, 75, 500) == pytest.approx(expected)
    assert round(expected, 4) == 0.0168
    assert pilot_stats.two_proportion_p_value(0, 10, 0, 10) is None  # no variance
    assert pilot_stats.two_proportion_p_value(1, 0, 1, 10) is None  # an empty arm


def test_sample_size_and_minimum_detectable_effect_are_inverse():
    needed = pilot_stats.sample_size(0.1, 0.02, 0.2, 0.05, 0.8)
    # (1.96 + 0.8416)^2 * 0.1 * 0.9 * (1/0.2 + 1/0.8) / 0.02^2 = 11,038
    assert needed == 11038
    mde = pilot_stats.minimum_detectable_effect(0.1, round(needed * 0.8), round(needed * 0.2), 0.05, 0.8)
    assert mde == pytest.approx(0.02, abs=1e-4)


def test_no_verdict_before_min_days_or_the_sample():
    early = pilot_stats.compare(100, 8000, 60, 2000, days_run=3, **SETTINGS)
    assert early.verdict == pilot_stats.KEEP_RUNNING and "3.0 of 14 days" in early.verdict_reason
    small = pilot_stats.compare(10, 80, 6, 20, days_run=20, leads_per_day=5, **SETTINGS)
    assert small.verdict == pilot_stats.KEEP_RUNNING and "of" in small.verdict_reason
    assert small.days_to_sample == pytest.approx((small.sample_size_needed - 100) / 5)


def simulate(rate_a: float, rate_b: float, pilots: int, seed: int, per_day: int = 500) -> list[str]:
    """``pilots`` pilots as they run: ``per_day`` new leads a day (a fifth to the challenger),
    read every day; a pilot's verdict is the first one that is not "keep running" (the stats
    give none before the sample size the champion's rate needs)."""
    rng = np.random.default_rng(seed)
    verdicts = []
    for _ in range(pilots):
        x_a = n_a = x_b = n_b = 0
        verdict = pilot_stats.KEEP_RUNNING
        for day in range(1, 200):
            arm_b = int(rng.binomial(per_day, 0.2))
            n_a, n_b = n_a + per_day - arm_b, n_b + arm_b
            x_a += int(rng.binomial(per_day - arm_b, rate_a))
            x_b += int(rng.binomial(arm_b, rate_b))
            verdict = pilot_stats.compare(x_a, n_a, x_b, n_b, days_run=day, **SETTINGS).verdict
            if verdict != pilot_stats.KEEP_RUNNING:
                break
        verdicts.append(verdict)
    return verdicts


def test_a_planted_better_challenger_is_found():
    verdicts = simulate(0.10, 0.14, pilots=20, seed=7)  # a 40% better challenger
    assert verdicts.count(pilot_stats.CHALLENGER_BETTER) >= 19, verdicts


def test_an_identical_challenger_rarely_gets_a_verdict():
    """Over 40 simulated pilots, the share with a verdict other than "no difference" stays
    at or below alpha plus two standard errors of 40 draws (0.05 + 0.069): at most 4."""
    verdicts = simulate(0.10, 0.10, pilots=40, seed=21)
    false = sum(v != pilot_stats.NO_DIFFERENCE for v in verdicts)
    noise = 2 * math.sqrt(0.05 * 0.95 / 40)
    assert false / 40 <= 0.05 + noise, verdicts


def test_arms_are_a_stable_hash_of_pilot_and_person():
    arms = [arm_of("p1", f"person{i}", 0.2) for i in range(5000)]
    assert abs(arms.count("challenger") / 5000 - 0.2) < 0.02
    assert arms == [arm_of("p1", f"person{i}", 0.2) for i in range(5000)]
    assert arms != [arm_of("p2", f"person{i}", 0.2) for i in range(5000)]  # a new pilot re-draws
    # the arm is md5 of the text, as anyone can recompute it
    for i in range(20):
        digest = hashlib.md5(f"p1:person{i}".encode()).hexdigest()
        assert arms[i] == ("challenger" if int(digest[:8], 16) / 2**32 < 0.2 else "champion")
