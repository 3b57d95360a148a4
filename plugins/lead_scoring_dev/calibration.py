"""How well the scores rank people who convert, on the synthetic generator's hidden truth.

The generator writes ``truth.parquet`` (``crm_id, crm_object, propensity, converted, won``)
next to the CRM data it makes; this module joins it to ``marts.lead_scores`` and reports the
tier counts, the conversion rate per tier (a record converted when its Lead was converted or
it got an opportunity) and the AUC of ``composite_score`` against conversion (the probability
that a random converter scores above a random non-converter, ties counting half).

    python -m lead_scoring_dev.calibration [--warehouse W] [--truth var/generated/truth.parquet]
"""

from __future__ import annotations

import argparse
import sys
from dataclasses import dataclass
from pathlib import Path

import duckdb

from lead_scoring.config import load_settings

TIER_LABELS = {1: "Hot", 2: "Warm", 3: "Nurture", 4: "Disqualified"}


@dataclass(frozen=True)
class TierRow:
    tier: int
    people: int
    converted: int
    conversion_rate: float
    won_rate: float
    mean_composite: float


@dataclass(frozen=True)
class Calibration:
    tiers: list[TierRow]
    auc: float
    people: int
    converters: int

    def is_strictly_ordered(self) -> bool:
        """Conversion rate strictly decreasing from Tier 1 to Tier 4, all four present."""
        rates = [row.conversion_rate for row in sorted(self.tiers, key=lambda row: row.tier)]
        return len(rates) == 4 and all(a > b for a, b in zip(rates, rates[1:], strict=False))

    def table(self) -> str:
        lines = [f"{'tier':<16} {'people':>7} {'converted':>9} {'conv.':>10} {'won':>9} {'score':>10}"]
        for row in self.tiers:
            label = f"{row.tier} {TIER_LABELS.get(row.tier, '?')}"
            lines.append(
                f"{label:<16} {row.people:>7,} {row.converted:>9,} {row.conversion_rate:>10.1%} "
                f"{row.won_rate:>9.1%} {row.mean_composite:>10.1f}"
            )
        lines.append(f"AUC of composite_score against conversion: {self.auc:.3f} "
                     f"({self.converters:,} converters of {self.people:,} records)")  # fmt: skip
        return "\n".join(lines)


def calibrate(con: duckdb.DuckDBPyConnection, truth_path: Path) -> Calibration:
    """Tier conversion and AUC of ``marts.lead_scores`` in ``con`` against ``truth_path``."""
    truth = str(truth_path).replace("'", "''")
    con.execute(f"""
        create or replace temp view calibration_scores as
        select scores.crm_id, scores.tier, scores.composite_score,
            coalesce(truth.converted, false) as converted, coalesce(truth.won, false) as won
        from marts.lead_scores as scores
        left join read_parquet('{truth}') as truth on scores.crm_id = truth.crm_id
    """)
    tiers = [
        TierRow(int(tier), int(people), int(converted), float(rate), float(won), float(mean))
        for tier, people, converted, rate, won, mean in con.execute("""
            select tier, count(*), sum(case when converted then 1 else 0 end),
                avg(case when converted then 1.0 else 0.0 end),
                avg(case when won then 1.0 else 0.0 end), avg(composite_score)
            from calibration_scores group by tier order by tier
        """).fetchall()
    ]
    # Mann-Whitney: average ranks over ties
    auc, people, converters = con.execute("""
        with ranked as (
            select converted,
                avg(position) over (partition by composite_score) as score_rank
            from (
                select converted, composite_score,
                    row_number() over (order by composite_score) as position
                from calibration_scores
            )
        ),
        totals as (
            select
                sum(case when converted then score_rank else 0 end) as rank_sum,
                sum(case when converted then 1 else 0 end) as positives,
                sum(case when converted then 0 else 1 end) as negatives
            from ranked
        )
        select (rank_sum - positives * (positives + 1) / 2.0) / nullif(positives * negatives, 0),
            positives + negatives, positives
        from totals
    """).fetchall()[0]
    return Calibration(tiers=tiers, auc=float(auc or 0.0), people=int(people), converters=int(converters))


def main(argv: list[str] | None = None) -> int:
    settings = load_settings()
    parser = argparse.ArgumentParser(
        prog="python -m lead_scoring_dev.calibration", description=__doc__.split("\n")[0]
    )
    parser.add_argument("--warehouse", type=Path, default=settings.warehouse)
    parser.add_argument("--truth", type=Path, default=settings.var_dir / "generated" / "truth.parquet")
    args = parser.parse_args(argv)
    if not args.truth.exists():
        print(
            f"{args.truth} does not exist: run `make demo` (or `leadscore generate`) first", file=sys.stderr
        )
        return 2
    con = duckdb.connect(str(args.warehouse), read_only=True)
    try:
        result = calibrate(con, args.truth)
    finally:
        con.close()
    print(result.table())
    print("conversion strictly ordered Tier 1 > 2 > 3 > 4:", "yes" if result.is_strictly_ordered() else "NO")
    return 0


if __name__ == "__main__":
    sys.exit(main())
