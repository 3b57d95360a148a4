"""``python -m lead_scoring_dev.routing_check [warehouse]``: the routing and SLA guarantees,
counted on a warehouse after hourly runs (read-only). Every "violation" figure must be 0.

Build the reports first (``leadscore report --build``) for the fairness figures; without
``reporting.rpt_routing_fairness`` they are left out and said so.
"""

from __future__ import annotations

import json
import sys
from pathlib import Path

import duckdb

from lead_scoring.alerts import breach_alerts, open_breaches
from lead_scoring.config import load_settings
from lead_scoring.warehouse import table_exists

# name -> SQL returning one number; the violations (must be 0) first
VIOLATIONS = {
    "tier_1_2_with_an_unavailable_rep": """
        select count(*) from marts.lead_routing as routing
        inner join intermediate.int_reps_availability_evaluated as reps on routing.owner_id = reps.rep_id
        where routing.tier in (1, 2) and routing.owner_type = 'rep' and not reps.is_available
            and routing.routing_rule <> 'reassigned_in_crm'""",
    "tier_1_2_with_an_unknown_rep": """
        select count(*) from marts.lead_routing as routing
        left join seeds.routing_reps as reps on routing.owner_id = reps.rep_id
        where routing.tier in (1, 2) and routing.owner_type = 'rep' and reps.rep_id is null
            and routing.routing_rule <> 'reassigned_in_crm'""",
    "tier_1_2_without_a_reason": """
        select count(*) from marts.lead_routing
        where tier in (1, 2) and coalesce(routing_reason, '') = ''""",
    "assignments_to_a_rep_out_of_office": """
        select count(*) from marts.lead_assignments as ledger
        inner join seeds.routing_rep_availability as away
            on ledger.owner_id = away.rep_id
            and ledger.assigned_at >= cast(away.unavailable_from as timestamp)
            and ledger.assigned_at < cast(away.unavailable_until as timestamp)
        where ledger.owner_type = 'rep' and ledger.routing_rule <> 'reassigned_in_crm'""",
    "opted_out_or_do_not_call_with_a_rep": """
        select count(*) from marts.lead_routing
        where (has_opted_out_of_email or is_do_not_call) and owner_type = 'rep'""",
    "tier_1_3_without_an_sla_row": """
        select count(*) from marts.lead_routing as routing
        left join marts.lead_sla as sla on routing.crm_id = sla.crm_id
        where routing.tier in (1, 2, 3) and not routing.has_opted_out_of_email
            and not routing.is_do_not_call and sla.crm_id is null
            and routing.routing_rule <> 'recycled_after_attempts'""",
    # recycled after max_attempts: in the nurture queue, waiting for the person, no clock
    "recycled_with_an_sla_row_or_a_rep": """
        select count(*) from marts.lead_routing as routing
        left join marts.lead_sla as sla on routing.crm_id = sla.crm_id
        where routing.routing_rule = 'recycled_after_attempts'
            and (sla.crm_id is not null or routing.owner_type <> 'queue')""",
    "sla_due_not_start_plus_policy": """
        select count(*) from marts.lead_sla as sla
        inner join seeds.sla_policies as policy on sla.tier = policy.tier
        where not policy.business_hours_only
            and sla.sla_due_at <> sla.sla_started_at + to_minutes(cast(policy.response_minutes as bigint))""",
    "negative_minutes_to_first_response": """
        select count(*) from marts.lead_sla where minutes_to_first_response < 0""",
}
COUNTS = {
    "tier_1_2_leads": "select count(*) from marts.lead_routing where tier in (1, 2)",
    "ledger_rows": "select count(*) from marts.lead_assignments",
    "sla_rows": "select count(*) from marts.lead_sla",
    "alerts": "select count(*) from ops.alerts where kind = 'sla_breach'",
}
FAIRNESS = {
    "round_robin_pools": "select count(distinct routing_pool) from reporting.rpt_routing_fairness",
    "pools_within_tolerance": """
        select count(distinct routing_pool) from reporting.rpt_routing_fairness
        where is_pool_within_tolerance""",
    "pools_of_10_or_more_leads": """
        select count(distinct routing_pool) from reporting.rpt_routing_fairness where pool_leads >= 10""",
    "max_share_gap_in_pools_of_10_or_more": """
        select round(max(abs(assigned_share - weight_share)), 3)
        from reporting.rpt_routing_fairness where pool_leads >= 10""",
    "max_deviation_leads": "select round(max(abs(deviation_leads)), 2) from reporting.rpt_routing_fairness",
}


def figures(con: duckdb.DuckDBPyConnection) -> dict:
    """Every figure of the check; ``violations`` must all be 0."""

    def number(sql: str):
        return con.execute(sql).fetchall()[0][0]

    breaches = open_breaches(con)  # the figures leadscore status and the run summary show
    result = {
        "violations": {
            **{name: number(sql) for name, sql in VIOLATIONS.items()},
            # breaches the alert task would still raise (not due before routing, no alert yet)
            "alertable_breaches_without_an_alert": len(breach_alerts(con)),
        },
        "counts": {
            **{name: number(sql) for name, sql in COUNTS.items()},
            "breaches": breaches["breached"],
            "breaches_due_before_routing": breaches["breached_before_routing"],
        },
        "tier_1_2_by_rule": dict(
            con.execute(
                "select routing_rule, count(*) from marts.lead_routing where tier in (1, 2) "
                "group by routing_rule order by 2 desc"
            ).fetchall()
        ),
    }
    result["fairness"] = (
        {name: number(sql) for name, sql in FAIRNESS.items()}
        if table_exists(con, "reporting", "rpt_routing_fairness")
        else "reporting.rpt_routing_fairness missing: run `leadscore report --build` first"
    )
    return result


def main(argv: list[str] | None = None) -> int:
    argv = sys.argv[1:] if argv is None else argv
    path = Path(argv[0]) if argv else load_settings().warehouse
    con = duckdb.connect(str(path), read_only=True)
    try:
        result = figures(con)
    finally:
        con.close()
    print(json.dumps(result, indent=2, default=str))
    broken = {name: n for name, n in result["violations"].items() if n}
    if broken:
        print(f"violations: {broken}", file=sys.stderr)
    return 1 if broken else 0


if __name__ == "__main__":
    raise SystemExit(main())
