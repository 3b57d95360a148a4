"""The A/B pilot end to end (issue 21's done-when): generator, CRM sandbox over HTTPS and the
`leadscore run` stages for consecutive hours. A pilot on everyone with a challenger whose
Software fit rule gives 40 points instead of 20: both arms in reporting.rpt_pilot, the
challenger's share within 3 points of 20%, every person in the same arm in both runs, the
CRM fields of challenger-arm Leads equal to the challenger's scores, and a re-run of an hour
assigning and recording nothing twice."""

from __future__ import annotations

from datetime import timedelta

import pytest

from tests.e2e.test_routing_across_hours import END
from tests.support import generated_world

pytestmark = pytest.mark.e2e


@pytest.fixture(scope="module")
def world(tmp_path_factory):
    root = tmp_path_factory.mktemp("pilot_e2e")
    with (
        pytest.MonkeyPatch.context() as mp,
        generated_world(root, mp, leads=1500, days=30, seed=5, end=END) as (settings, sandbox),
    ):
        yield settings, sandbox, root


def candidate_seeds(settings, folder):
    """A copy of fit_rules.csv with Software worth 40 fit points instead of 20."""
    folder.mkdir()
    text = (settings.dbt_project_dir / "seeds" / "fit_rules.csv").read_text()
    changed = text.replace(
        "industry_software,industry,equals,Software,,,20,", "industry_software,industry,equals,Software,,,40,"
    )
    assert changed != text
    (folder / "fit_rules.csv").write_text(changed)
    return folder


def test_a_pilot_splits_people_and_the_challenger_decides_its_arm(world, capsys):
    from crm_sandbox.store import query_sql
    from lead_scoring import pipeline, run_context, warehouse
    from lead_scoring_dev.cli import main

    settings, sandbox, root = world
    pipeline.run_all(run_context.make_context("hour0", END))
    seeds = candidate_seeds(settings, root / "candidate")
    code = main(["pilot", "start", "--population", "all", "--candidate-seeds", str(seeds), "--share", "0.2",
                 "--reason", "Software converts twice as often"])  # fmt: skip
    assert code == 0, capsys.readouterr().err
    assert "pilot p1 started" in capsys.readouterr().out
    # one challenger at a time, and bad input in one line
    assert main(["shadow", "start", "--candidate-seeds", str(seeds), "--reason", "x"]) == 2
    assert "pilot p1 is active" in capsys.readouterr().err
    assert main(["pilot", "start", "--candidate-seeds", str(seeds), "--share", "0.2", "--reason", "x"]) == 2
    assert "pilot p1 is active" in capsys.readouterr().err

    first = pipeline.run_all(run_context.make_context("hour1", END + timedelta(hours=1)))
    second = pipeline.run_all(run_context.make_context("hour2", END + timedelta(hours=2)))
    assert first["pilot"]["active"] and second["pilot"]["active"]

    with warehouse.connect(settings.warehouse) as con:
        report = {
            r[0]: r[1:]
            for r in con.execute("select arm, leads, lead_share, verdict from reporting.rpt_pilot").fetchall()
        }
        runs = con.execute(
            "select crm_id, count(distinct scored_at), count(distinct arm) "
            "from ops.pilot_scores group by crm_id"
        ).fetchall()
        assigned = con.execute("select count(*) from ops.pilot_assignments").fetchall()[0][0]
        scored = con.execute("select count(*) from marts.lead_scores").fetchall()[0][0]
        deciding = con.execute(
            "select count(*), count(*) filter (where composite_score = challenger_composite_score), "
            "count(*) filter (where challenger_composite_score <> champion_composite_score) "
            "from marts.lead_scores where pilot_arm = 'challenger'"
        ).fetchall()[0]
        champion_arm = con.execute(
            "select count(*) filter (where composite_score <> champion_composite_score) "
            "from marts.lead_scores where pilot_arm = 'champion'"
        ).fetchall()[0][0]
        challenger_leads = dict(
            con.execute(
                "select crm_id, challenger_composite_score from marts.lead_scores "
                "where pilot_arm = 'challenger' and crm_object = 'Lead'"
            ).fetchall()
        )
        payload = dict(con.execute("select Id, Lead_Score__c from marts.sync_salesforce__leads").fetchall())
        ledger_rows = con.execute("select count(*) from ops.pilot_scores").fetchall()[0][0]

    assert set(report) == {"champion", "challenger"}
    assert sum(r[0] for r in report.values()) == assigned == scored  # everyone is in an arm
    assert abs(report["challenger"][1] - 0.2) <= 0.03, report
    assert report["challenger"][2] == "keep running"  # no verdict before --min-days
    assert {r[1] for r in runs} == {2} and {r[2] for r in runs} == {1}  # both runs, one arm each
    assert deciding[0] == deciding[1] > 0 and deciding[2] > 0  # the challenger decides its arm
    assert champion_arm == 0
    crm = dict(query_sql(sandbox.db, "select Id, Lead_Score__c from Lead"))
    sent = [crm_id for crm_id in challenger_leads if crm_id in payload]
    assert sent and all(float(crm[i]) == float(challenger_leads[i]) for i in sent)

    # a re-run of the last hour's pilot stages (the DAG's task retries, a restarted run)
    # assigns nothing and records its rows once
    rerun = run_context.make_context("hour2b", END + timedelta(hours=2))
    assert pipeline.pilot_prepare(rerun)["newly_assigned"] == 0
    pipeline.pilot_record(rerun)
    with warehouse.connect(settings.warehouse) as con:
        assert con.execute("select count(*) from ops.pilot_assignments").fetchall()[0][0] == assigned
        assert con.execute("select count(*) from ops.pilot_scores").fetchall()[0][0] == ledger_rows

    assert main(["pilot", "status"]) == 0
    status = capsys.readouterr().out
    print(status)
    assert "verdict: keep running" in status and "0 people changed arm" in status
