"""The fast lane end to end (issue 23): generator, CRM sandbox over HTTPS, the real dbt and
GX. After an hourly run, a minute with nothing new stops after the load; a new Lead created
in the CRM that requests a demo is scored, routed and written back with its handoff Task by
the next minute's fast lane, which writes nothing about anyone else; the same minute again
writes nothing; a minute early in the next hour waits for that hour's run; and an hourly run
as of an earlier instant that finishes late never puts the new Lead's older score back, while
the next hour writes back, keeps the new Lead's owner and creates no second handoff Task."""

from __future__ import annotations

import shutil
from dataclasses import replace
from datetime import datetime, timedelta
from pathlib import Path

import pytest

from tests.support import generated_world, rows

END = datetime(2026, 11, 1, 10, 0, 0)
NEW_LEAD = "00Q9FASTLANE001AAA"
pytestmark = pytest.mark.e2e


@pytest.fixture(scope="module")
def world(tmp_path_factory):
    root = tmp_path_factory.mktemp("fast_lane_e2e")
    with (
        pytest.MonkeyPatch.context() as mp,
        generated_world(root, mp, leads=200, days=20, seed=23, end=END) as made,
    ):
        yield made


def whole_build_copy(settings, as_of: datetime, root: Path):
    """A copy of the warehouse with the whole hourly graph built as of ``as_of``: what the
    narrow build must equal for the people it scored."""
    from lead_scoring import pipeline
    from lead_scoring.run_context import make_context

    root.mkdir(parents=True)
    copy = replace(settings, warehouse=root / settings.warehouse.name)
    shutil.copy(settings.warehouse, copy.warehouse)
    with pytest.MonkeyPatch.context() as mp:  # dbt's profile reads the warehouse from the environment
        mp.setenv("LEADSCORE_WAREHOUSE", str(copy.warehouse))
        pipeline.build_scores(make_context("whole_build", as_of, copy), data_tests=False)
    return copy


def test_a_new_hot_lead_reaches_its_owner_in_the_next_minute(world, tmp_path):
    from crm_sandbox.store import query_sql
    from lead_scoring import pipeline, warehouse
    from lead_scoring.pipeline import write_back_crm
    from lead_scoring.reverse_etl.sync import newer_write_back
    from lead_scoring.run_context import make_context
    from lead_scoring_dev.fast_lane_trial import (
        best_fitting_routed_lead,
        create_lead,
        crm_lead,
        land_demo_request,
    )

    settings, _ = world
    db = settings.sandbox_dir / "crm.sqlite"
    hour = pipeline.run_all(make_context("hour0", END))
    assert hour["crm_records_written"] > 0 and hour["lane"] == "hourly"

    # a minute with nothing new: no dbt build, no write-back, no run recorded
    quiet = pipeline.run_fast_lane(make_context("fast_quiet", END + timedelta(minutes=2)))
    assert quiet.get("nothing_new") is True, quiet
    assert rows(settings, "select run_id from ops.runs where run_id = 'fast_quiet'") == []

    # a Lead like a well-fitting one routed to a rep is created, then requests a demo, as
    # does a Contact with colleagues at their Account (whose intent its account bonus reads)
    create_lead(db, best_fitting_routed_lead(settings), NEW_LEAD, END + timedelta(minutes=3))
    land_demo_request(settings.landing, NEW_LEAD, END + timedelta(minutes=4))
    ((contact, account),) = rows(
        settings,
        "select crm_id, account_id from marts.lead_scores where crm_object = 'Contact' and account_id in "
        "(select account_id from marts.lead_scores group by account_id having count(*) >= 3) "
        "order by crm_id limit 1",
    )
    land_demo_request(settings.landing, contact, END + timedelta(minutes=4))
    fast = pipeline.run_fast_lane(make_context("fast1", END + timedelta(minutes=5)))
    assert fast["lane"] == "fast" and fast["crm_write_skipped"] is None
    assert fast["touched_people"] >= 2
    # the narrow build: the touched people (and the Contact's colleagues, read, not written)
    narrow = fast["narrow_build"]
    assert narrow["narrow"] and narrow["scored_records"] >= 2 and narrow["context_records"] >= 4, narrow
    # it scored and routed them as a whole build of that minute does, row for row
    full = whole_build_copy(settings, END + timedelta(minutes=5), root=tmp_path / "whole_build")
    for table, column, ids in [
        ("lead_scores", "crm_id", [NEW_LEAD, contact]),
        ("lead_routing", "crm_id", [NEW_LEAD]),
        ("account_scores", "account_id", [account]),
    ]:
        sql = f"select * from marts.{table} where {column} in (?, ?) order by {column}"
        expected = rows(full, sql, (ids * 2)[:2])
        assert len(expected) == len(ids) and rows(settings, sql, (ids * 2)[:2]) == expected, table

    # scored, tiered and routed in the warehouse; the same tier, score and owner in the CRM
    score, tier, tier_label = rows(
        settings,
        "select composite_score, tier, tier_label from marts.lead_scores where crm_id = ?",
        [NEW_LEAD],
    )[0]
    ((owner, owner_type),) = rows(
        settings, "select owner_id, owner_type from marts.lead_routing where crm_id = ?", [NEW_LEAD]
    )
    lead = crm_lead(db, NEW_LEAD)
    assert lead["Lead_Tier__c"] == f"{tier} - {tier_label}" and tier <= 2, (tier, tier_label, score)
    assert lead["OwnerId"] == owner and owner_type == "rep"
    assert lead["Lead_Score__c"] == pytest.approx(round(score))
    # its handoff Task, once
    tasks = rows(
        settings, "select task_id from ops.crm_actions where object = 'Task' and crm_id = ?", [NEW_LEAD]
    )
    assert len(tasks) == 1 and fast["crm_tasks_created"] >= 1

    # only the touched people (and their Accounts) were written this minute
    written = {
        crm_id
        for (crm_id,) in rows(
            settings,
            "select crm_id from ops.crm_sync_log where run_id = 'fast1' and object in ('Lead', 'Contact')",
        )
    }
    assert NEW_LEAD in written
    assert len(written) <= fast["touched_people"]
    assert fast["crm_records_written"] <= fast["touched_people"] + len(tasks)

    # the same minute again: nothing arrived, nothing written
    again = pipeline.run_fast_lane(make_context("fast1_again", END + timedelta(minutes=5)))
    assert again["nothing_new"] is True
    # 11:02, before the 11:00 hourly run wrote back: the minute waits for the hour
    early = pipeline.run_fast_lane(make_context("fast_early", END + timedelta(hours=1, minutes=2)))
    assert "waiting for the hourly run of 2026-11-01 11:00" in early["waiting"]

    # an hourly run as of before the demo request (a run late to finish) scores the new Lead
    # lower, and its write-back leaves the fast lane's newer row in the CRM
    before = crm_lead(db, NEW_LEAD)
    late = make_context("late_hour", END + timedelta(minutes=3, seconds=30))
    pipeline.build_scores(late, data_tests=False)
    (older,) = rows(settings, "select composite_score from marts.lead_scores where crm_id = ?", [NEW_LEAD])[0]
    assert older < score
    written_late = write_back_crm(late)
    assert written_late.get("skipped_reason") is None and written_late["crm_records_written"] > 0
    late_rows = "select 1 from ops.crm_sync_log where run_id = 'late_hour' and crm_id = ?"
    assert rows(settings, late_rows, [NEW_LEAD]) == []
    # nor a second handoff Task for its own (older) assignment of the new Lead
    assert written_late["crm_tasks_created"] == 0
    assert crm_lead(db, NEW_LEAD)["Lead_Score__c"] == before["Lead_Score__c"]
    # an older minute is held back by the fast lane's later one
    with warehouse.connect(settings.warehouse) as con:
        assert newer_write_back(con, END + timedelta(minutes=4), "fast") is not None

    # the next hour writes back (the fast lane's minute does not hold it), keeps the owner
    # the fast lane gave the new Lead and creates no second handoff Task for it
    next_hour = pipeline.run_all(make_context("hour1", END + timedelta(hours=1)))
    assert next_hour["crm_write_skipped"] is None and next_hour["crm_records_written"] > 0
    assert crm_lead(db, NEW_LEAD)["OwnerId"] == owner
    assert rows(
        settings, "select count(*) from ops.crm_actions where object = 'Task' and crm_id = ?", [NEW_LEAD]
    ) == [(1,)]
    assert (
        len(
            query_sql(
                db, "select Id from Task where WhoId = ? and Leadscore_Action_Id__c is not null", [NEW_LEAD]
            )
        )
        == 1
    )
