"""The benchmark table sets the dbt scoring subgraph (``dbt run +lead_scores``) against the
reference query with the 1.5 target, and keeps the whole hourly stage beside it as a figure
without a target; a ratio is INVALID when the reference disagrees with dbt's scores."""

from __future__ import annotations

from lead_scoring_dev.bench import harness


def figures(scoring_s: float, equal: bool = True) -> dict:
    comparisons = {
        "reference": {
            "seconds": 4.0,
            "runs_s": [4.6, 4.0, 4.1],
            "equal": equal,
            "mismatches": 0 if equal else 3,
            "peak_rss_mb": 900,
            "rows_dbt": 1000,
            "rows_other": 1000,
            "examples": [],
        }
    }
    result = {
        "dbt_stage_s": 20.0,
        "dbt_scoring_s": scoring_s,
        "dbt_scoring_runs_s": [scoring_s + 1, scoring_s],
        "full_run_s": 60.0,
    }
    return result | harness.comparison_figures(comparisons, result)


def row(table: str, label: str) -> str:
    return next(line for line in table.splitlines() if line.startswith(label))


def test_both_dbt_ratios_are_computed_from_the_same_reference():
    result = figures(scoring_s=5.0)
    assert result["dbt_vs_reference"] == 5.0
    assert result["dbt_scoring_vs_reference"] == 1.25


def test_the_target_is_on_the_scoring_ratio_only():
    table = harness.format_table({"M": figures(scoring_s=5.0), "L": figures(scoring_s=8.0)})
    assert "MISSED (<= 1.5)" in row(table, "dbt scoring / reference")
    assert "met" in harness._check("dbt_scoring_vs_reference", 1.25, "M")
    stage = row(table, "dbt stage / reference")
    assert "5.0" in stage and "MISSED" not in stage and "<=" not in stage
    assert "dbt run +lead_scores" in row(table, "dbt scoring (s)")


def test_a_scoring_ratio_against_a_wrong_reference_is_invalid():
    table = harness.format_table({"M": figures(scoring_s=5.0, equal=False)})
    assert "INVALID (1.25)" in row(table, "dbt scoring / reference")


def test_every_scoring_run_is_listed_beside_the_fastest():
    table = harness.format_table({"M": figures(scoring_s=5.0)})
    assert "fastest run" in row(table, "dbt scoring (s)")
    assert row(table, "M scoring runs (s)") == "M scoring runs (s): dbt 6.0, 5.0; reference 4.6, 4.0, 4.1"


def test_small_scales_repeat_the_scoring_runs_and_l_runs_them_once():
    assert harness.scoring_repeats(harness.SCALES["S"]) == harness.SCORING_REPEATS > 1
    assert harness.scoring_repeats(harness.SCALES["M"]) == harness.SCORING_REPEATS
    assert harness.scoring_repeats(harness.SCALES["L"]) == 1


def test_an_incremental_hour_unequal_to_a_full_rebuild_fails_the_bench():
    compared = {"marts.lead_scores": {"rows": 10, "only_incremental": 1, "only_full": 1}}
    equal = figures(scoring_s=5.0) | {"incremental_equal_to_full": True}
    unequal = figures(scoring_s=5.0) | {
        "incremental_equal_to_full": False,
        "incremental_full_rebuild_compared": compared,
    }
    assert row(harness.format_table({"S": equal}), "incremental = full rebuild").split()[-1] == "yes"
    assert "NO" in row(harness.format_table({"S": unequal}), "incremental = full rebuild")
    assert harness.equality_failures({"S": equal}) == []
    (failure,) = harness.equality_failures({"S": unequal})
    assert failure.startswith("S: the incremental hour differs") and '"only_full": 1' in failure


def test_the_fast_lane_latency_has_its_target_and_a_lead_left_out_fails_the_bench():
    trials = [{"latency_s": 9.0, "in_crm": True}, {"latency_s": 11.0, "in_crm": False}]
    carried = figures(scoring_s=5.0) | {
        "fast_lane_p50_s": 9.0,
        "fast_lane_p95_s": 11.0,
        "fast_lane_all_in_crm": True,
    }
    dropped = carried | {"fast_lane_all_in_crm": False, "fast_lane_trials": trials}
    assert row(harness.format_table({"L": carried}), "fast lane, landing to CRM, p95").split()[-4:] == [
        "11.0",
        "met",
        "(<=",
        "60)",
    ]
    slow = carried | {"fast_lane_p95_s": 75.0}
    assert "met" not in row(harness.format_table({"L": slow}), "fast lane, landing to CRM, p95")
    assert harness.equality_failures({"L": carried}) == []
    (failure,) = harness.equality_failures({"L": dropped})
    assert failure == "L: the fast lane left 1 new Lead(s) without a tier or owner in the CRM"


def test_each_stage_reports_the_crm_servers_share_and_the_products(monkeypatch):
    """The monitor reads the sandbox's busy seconds before and after each stage: a stage that
    waited on the CRM gets that share, the rest of its wall time is the product's."""
    import time

    from lead_scoring_dev.bench import child

    busy = iter([0.0, 0.0, 5.0, 5.25])  # the CRM worked 0 s in stage one, 0.25 s in stage two
    monkeypatch.setattr(child, "crm_busy_s", lambda crm: next(busy))
    monitor = child.StageMonitor(crm=object())
    monitor.wrap("dbt_build", lambda: time.sleep(0.05))()
    monitor.wrap("write_back", lambda: time.sleep(0.3))()
    taken = monitor.take()
    assert taken["stages_crm_server_s"] == {"dbt_build": 0.0, "write_back": 0.25}
    assert taken["stages_product_s"]["write_back"] == round(taken["stages_s"]["write_back"] - 0.25, 2)
    assert taken["stages_product_s"]["dbt_build"] == taken["stages_s"]["dbt_build"]

    results = {
        "S": {
            "stages_s": taken["stages_s"],
            "stages_crm_server_s": taken["stages_crm_server_s"],
            "incremental_stages_s": {"write_back": 1.5},
            "incremental_stages_crm_server_s": {"write_back": 0.75},
        }
    }
    table = harness.format_table(results)
    assert row(table, "S stages").endswith(f"write_back {taken['stages_s']['write_back']}/0.25/-")
    assert row(table, "S incremental stages").endswith("write_back 1.5/0.75")


def test_a_target_can_differ_by_scale():
    assert harness._check("incremental_s", 20.0, "M") == "MISSED (<= 8)"
    assert harness._check("incremental_s", 20.0, "L") == "met (<= 25)"
    assert harness._check("incremental_s", 20.0, "S") == "(<= 8 at M); (<= 25 at L)"
    assert harness._check("full_run_s", 20.0, "S") == "(<= 120 at L)"
