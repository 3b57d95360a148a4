"""Backtest metrics on person-days: AUC, top-decile lift, conversion by tier, tier shares.

Pure functions on plain sequences (no database), so they are tested on small hand-made
histories whose right answers are known.
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Sequence


def auc(scores: Sequence[float], labels: Sequence[bool]) -> float | None:
    """Area under the ROC curve = P(a random positive scores above a random negative), ties
    counting one half (Mann-Whitney U with average ranks). ``None`` without both classes."""
    if len(scores) != len(labels):
        raise ValueError(f"{len(scores)} scores but {len(labels)} labels")
    positives = sum(1 for label in labels if label)
    negatives = len(labels) - positives
    if positives == 0 or negatives == 0:
        return None
    order = sorted(range(len(scores)), key=lambda i: scores[i])
    rank_sum, i = 0.0, 0
    while i < len(order):
        j = i
        while j + 1 < len(order) and scores[order[j + 1]] == scores[order[i]]:
            j += 1
        average_rank = (i + j) / 2 + 1  # ranks are 1-based
        rank_sum += average_rank * sum(1 for k in range(i, j + 1) if labels[order[k]])
        i = j + 1
    return (rank_sum - positives * (positives + 1) / 2) / (positives * negatives)


def top_decile_lift(
    groups: Sequence[str], ids: Sequence[str], scores: Sequence[float], labels: Sequence[bool]
) -> float | None:
    """Conversion rate of the top 10% by score within each group (a scoring day), pooled over
    groups, divided by the overall conversion rate. Each group contributes
    ``ceil(10% of its people)`` rows; ties at the cut are broken by id (deterministic)."""
    by_group: dict[str, list[tuple[float, str, bool]]] = defaultdict(list)
    for group, person, score, label in zip(groups, ids, scores, labels, strict=True):
        by_group[group].append((score, person, label))
    total_rows = len(labels)
    total_positives = sum(1 for label in labels if label)
    if total_rows == 0 or total_positives == 0:
        return None
    top_rows = top_positives = 0
    for rows in by_group.values():
        rows.sort(key=lambda row: (-row[0], row[1]))
        cut = -(-len(rows) // 10)  # ceil
        top_rows += cut
        top_positives += sum(1 for row in rows[:cut] if row[2])
    return (top_positives / top_rows) / (total_positives / total_rows)


def by_tier(tiers: Sequence[int], labels: Sequence[bool]) -> dict[int, dict[str, float]]:
    """Per tier 1-4: person-days, positives, conversion rate and share of all person-days."""
    total = len(tiers)
    out: dict[int, dict[str, float]] = {}
    for tier in (1, 2, 3, 4):
        rows = [label for t, label in zip(tiers, labels, strict=True) if t == tier]
        positives = sum(1 for label in rows if label)
        out[tier] = {
            "person_days": len(rows),
            "positives": positives,
            "conversion_rate": positives / len(rows) if rows else None,
            "tier_share": len(rows) / total if total else None,
        }
    return out


def summarize(
    days: Sequence[str],
    ids: Sequence[str],
    scores: Sequence[float],
    tiers: Sequence[int],
    labels: Sequence[bool],
) -> dict[str, object]:
    """Every backtest metric for one variant (current or candidate seeds)."""
    return {
        "auc": auc(scores, labels),
        "top_decile_lift": top_decile_lift(days, ids, scores, labels),
        "person_days": len(labels),
        "positives": sum(1 for label in labels if label),
        "days_scored": len(set(days)),
        "tiers": by_tier(tiers, labels),
    }
