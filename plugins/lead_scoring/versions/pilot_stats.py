"""The A/B pilot's statistics (docs/scoring.md, "Pilot"): the conversion rate's 95% interval
per arm (Wilson), the two-proportion z test, the minimum detectable effect at the current
size, the sample size the chosen power needs and the verdict. Pure functions of counts, on
the standard library's ``statistics.NormalDist``, so each can be checked by hand and simulated.

Conventions: ``a`` is the champion arm, ``b`` the challenger; a rate is conversions / leads;
effects are absolute differences of rates (percentage points / 100). The test is two-sided
at ``alpha``; the pilot reads it once it has run ``min_days`` and reached the sample size,
not at every hour, so looking each hour does not inflate the false verdict rate.
"""

from __future__ import annotations

import math
from dataclasses import asdict, dataclass
from statistics import NormalDist

NORMAL = NormalDist()

KEEP_RUNNING = "keep running"
CHALLENGER_BETTER = "challenger better"
CHAMPION_BETTER = "champion better"
NO_DIFFERENCE = "no difference"


def wilson_interval(successes: int, n: int, confidence: float = 0.95) -> tuple[float | None, float | None]:
    """The Wilson score interval of a proportion (None, None without trials)."""
    if n <= 0:
        return None, None
    z = NORMAL.inv_cdf(0.5 + confidence / 2)
    p = successes / n
    centre = (p + z * z / (2 * n)) / (1 + z * z / n)
    half = z / (1 + z * z / n) * math.sqrt(p * (1 - p) / n + z * z / (4 * n * n))
    return max(0.0, centre - half), min(1.0, centre + half)


def two_proportion_p_value(x_a: int, n_a: int, x_b: int, n_b: int) -> float | None:
    """Two-sided p-value of the pooled two-proportion z test (None when undefined: an empty
    arm, or no or only conversions in both)."""
    if n_a <= 0 or n_b <= 0:
        return None
    pooled = (x_a + x_b) / (n_a + n_b)
    variance = pooled * (1 - pooled) * (1 / n_a + 1 / n_b)
    if variance <= 0:
        return None
    z = (x_b / n_b - x_a / n_a) / math.sqrt(variance)
    return 2 * (1 - NORMAL.cdf(abs(z)))


def z_sum(alpha: float, power: float) -> float:
    """z(1 - alpha/2) + z(power): how many standard errors apart two rates must be."""
    return NORMAL.inv_cdf(1 - alpha / 2) + NORMAL.inv_cdf(power)


def minimum_detectable_effect(
    base_rate: float, n_a: int, n_b: int, alpha: float, power: float
) -> float | None:
    """The smallest absolute difference the test detects with ``power`` at these sizes."""
    if n_a <= 0 or n_b <= 0:
        return None
    return z_sum(alpha, power) * math.sqrt(base_rate * (1 - base_rate) * (1 / n_a + 1 / n_b))


def sample_size(base_rate: float, effect: float, share: float, alpha: float, power: float) -> int | None:
    """Leads in both arms together for the test to detect ``effect`` (absolute) with
    ``power`` when ``share`` of them are in the challenger arm (None without a base rate)."""
    if not 0 < base_rate < 1 or effect <= 0:
        return None
    weight = 1 / share + 1 / (1 - share)
    return math.ceil(z_sum(alpha, power) ** 2 * base_rate * (1 - base_rate) * weight / effect**2)


@dataclass(frozen=True)
class Comparison:
    p_value: float | None
    minimum_detectable_effect: float | None
    target_effect: float | None
    sample_size_needed: int | None
    days_to_sample: float | None
    verdict: str
    verdict_reason: str


def compare(
    x_a: int,
    n_a: int,
    x_b: int,
    n_b: int,
    *,
    share: float,
    alpha: float,
    power: float,
    min_lift: float,
    days_run: float,
    min_days: float,
    leads_per_day: float | None = None,
) -> Comparison:
    """Champion (a) against challenger (b). The target effect is ``min_lift`` of the champion's
    rate (relative); the sample size is the one that detects it with ``power``; the days to
    reach it follow ``leads_per_day`` (the pilot's new leads per day so far). No verdict
    before ``min_days`` and that sample size: until then, keep running."""
    base = (x_a / n_a) if n_a else None
    if base is None or not 0 < base < 1:  # no champion rate yet: pool both arms
        total = n_a + n_b
        base = (x_a + x_b) / total if total else None
    p_value = two_proportion_p_value(x_a, n_a, x_b, n_b)
    mde = minimum_detectable_effect(base, n_a, n_b, alpha, power) if base and base < 1 else None
    target = base * min_lift if base else None
    needed = sample_size(base, target, share, alpha, power) if base and target else None
    leads = n_a + n_b
    if needed is None:
        days = None
    elif leads >= needed:
        days = 0.0
    else:
        days = (needed - leads) / leads_per_day if leads_per_day else None
    if days_run < min_days:
        return Comparison(
            p_value, mde, target, needed, days, KEEP_RUNNING, f"{days_run:.1f} of {min_days:g} days run"
        )
    if needed is None or leads < needed:
        why = "no conversions yet" if needed is None else f"{leads:,} of {needed:,} leads"
        return Comparison(p_value, mde, target, needed, days, KEEP_RUNNING, why)
    if p_value is None or p_value >= alpha:
        shown = "undefined" if p_value is None else f"{p_value:.3f}"
        return Comparison(
            p_value, mde, target, needed, days, NO_DIFFERENCE, f"p = {shown} >= alpha {alpha:g}"
        )
    better = CHALLENGER_BETTER if x_b / n_b > x_a / n_a else CHAMPION_BETTER
    return Comparison(p_value, mde, target, needed, days, better, f"p = {p_value:.4f} < alpha {alpha:g}")


def as_dict(comparison: Comparison) -> dict:
    return asdict(comparison)
