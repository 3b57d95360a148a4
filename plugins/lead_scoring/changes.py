"""``leadscore changes``: who the latest scoring build moved, against the scores it replaced.

``marts.lead_scores_previous`` is the copy of ``marts.lead_scores`` that the lead_scores
model's pre-hook keeps just before each rebuild (macros/score_snapshot.sql). Comparing the
two answers "what did my seed change do" right after the run that made it live, even when
that run re-scored the same hour (whose history rows a re-run replaces).
"""

from __future__ import annotations

from pathlib import Path

from lead_scoring import warehouse
from lead_scoring.config import UserError

CHANGED_SQL = """
select
    coalesce(now.crm_id, before.crm_id) as crm_id,
    coalesce(now.crm_object, before.crm_object) as crm_object,
    before.composite_score as score_before,
    now.composite_score as score_now,
    before.tier as tier_before,
    now.tier as tier_now,
    before.fit_score as fit_before,
    now.fit_score as fit_now,
    before.intent_score as intent_before,
    now.intent_score as intent_now,
    now.score_reasons as reasons_now
from marts.lead_scores as now
full outer join marts.lead_scores_previous as before
    on now.crm_id = before.crm_id
where before.crm_id is null
    or now.crm_id is null
    or now.composite_score <> before.composite_score
    or now.tier <> before.tier
    or now.fit_score <> before.fit_score
    or now.intent_score <> before.intent_score
"""
# the largest moves first
LISTED_SQL = f"""
select * from ({CHANGED_SQL})
order by abs(coalesce(score_now, 0) - coalesce(score_before, 0)) desc, crm_id
"""
TIER_MOVES_SQL = f"""
select tier_before, tier_now, count(*)
from ({CHANGED_SQL})
where tier_before is distinct from tier_now
group by all
"""


def _side(con, table: str) -> dict:
    rows = con.execute(
        f"select scored_at, scoring_model_version, count(*) from {table} group by all order by 3 desc"
    ).fetchall()
    if not rows:
        return {"scored_at": None, "scoring_model_version": None, "records": 0}
    scored_at, version, _ = rows[0]
    return {
        "scored_at": str(scored_at),
        "scoring_model_version": version,
        "records": sum(row[2] for row in rows),
    }


def score_changes(path: Path, limit: int = 20) -> dict:
    """The records whose score, fit, intent or tier differ from the previous build's, the
    tier moves, and the two builds' instants and versions."""
    with warehouse.read_only(path) as con:
        warehouse.require_scores(con, path)
        if not warehouse.table_exists(con, "marts", "lead_scores_previous"):
            raise UserError(
                "no earlier scores to compare with: the scores were built once; "
                "`leadscore changes` compares a build with the one before it"
            )
        records_changed = con.execute(f"select count(*) from ({CHANGED_SQL})").fetchall()[0][0]
        moves = {
            f"{tier_before or '-'} → {tier_now or '-'}": count
            for tier_before, tier_now, count in con.execute(TIER_MOVES_SQL).fetchall()
        }
        changed = warehouse.fetch_dicts(con, LISTED_SQL + (f" limit {int(limit)}" if limit else ""))
        before, now = _side(con, "marts.lead_scores_previous"), _side(con, "marts.lead_scores")
    return {
        "before": before,
        "now": now,
        "records_changed": records_changed,
        "tier_changed": sum(moves.values()),
        "tier_moves": dict(sorted(moves.items())),
        "changes": changed,
    }


def _value(value) -> str:
    return "-" if value is None else f"{value:g}"


def format_changes(result: dict) -> str:
    before, now = result["before"], result["now"]
    lines = [
        f"{label} {side['records']:,} records scored at {side['scored_at']}"
        f" by {side['scoring_model_version']}"
        for label, side in (("before:", before), ("now:   ", now))
    ]
    lines += [
        f"{result['records_changed']:,} records changed score, fit, intent or tier; "
        f"{result['tier_changed']:,} changed tier",
    ]
    for move, count in result["tier_moves"].items():
        lines.append(f"  tier {move}: {count:,}")
    if result["changes"]:
        lines += ["", f"{'crm_id':<20} {'score':>11} {'tier':>6} {'fit':>9} {'intent':>9}  reasons now"]
        for row in result["changes"]:
            lines.append(
                f"{row['crm_id']:<20} {_value(row['score_before']):>4} → {_value(row['score_now']):<4}"
                f" {_value(row['tier_before']):>2} → {_value(row['tier_now']):<1}"
                f" {_value(row['fit_before']):>3} → {_value(row['fit_now']):<3}"
                f" {_value(row['intent_before']):>3} → {_value(row['intent_now']):<3}"
                f"  {row['reasons_now'] or ''}"
            )
        if result["records_changed"] > len(result["changes"]):
            lines.append(
                f"... {result['records_changed'] - len(result['changes']):,} more (--limit 0 lists all)"
            )
    return "\n".join(lines)
