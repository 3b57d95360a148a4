"""No gap in extraction, end to end: generator, CRM sandbox over HTTPS, the real
simple-salesforce client and `leadscore run`'s stages across hours.

- Records deleted for good (Bulk hardDelete), merged away or soft-deleted between two runs
  stop being scored, routed and alerted; getDeleted finds the hard-deleted one, and an Id
  reconciliation does when the delete log no longer reaches back.
- A run whose as_of is ahead of the CRM's clock does not move the watermark past it.
- A change committed after an extract with an earlier SystemModstamp is read by the next
  run (look-back overlap), and two overlapping extracts score exactly as one."""

from __future__ import annotations

import sqlite3
from datetime import datetime, timedelta
from pathlib import Path

import pytest
import requests

from tests.support import generated_world

END = datetime(2026, 11, 1, 10, 0, 0)
HOUR = timedelta(hours=1)
pytestmark = pytest.mark.e2e

SCORE_COLUMNS = (
    "crm_id, crm_object, email, account_id, fit_score, intent_score, negative_score, composite_score, "
    "grade, tier, tier_label, is_mql, is_sql, is_disqualified, score_reasons, scoring_model_version"
)


def world(root: Path, mp: pytest.MonkeyPatch, dry_run: bool = False):
    """Settings under ``root``, 600 generated leads in a running sandbox; yields (settings, sandbox)."""
    return generated_world(root, mp, leads=600, days=45, seed=11, end=END, dry_run=dry_run)


def sandbox_post(sandbox, path: str, body: dict) -> dict:
    response = requests.post(
        sandbox.url + path,
        json=body,
        headers={"Authorization": f"Bearer {sandbox.token}"},
        verify=str(sandbox.cert),
        timeout=30,
    )
    assert response.status_code == 200, response.text
    return response.json()


def rows(settings, sql: str, params: list | None = None) -> list[tuple]:
    from lead_scoring import warehouse

    with warehouse.connect(settings.warehouse) as con:
        return con.execute(sql, params or []).fetchall()


def extract_and_load(settings, run_id: str, as_of: datetime) -> dict:
    from lead_scoring import pipeline, run_context

    ctx = run_context.make_context(run_id, as_of, settings)
    return pipeline.load_raw(ctx, pipeline.extract_crm(ctx), {"files": []})


def test_deleted_and_merged_leads_stop_being_scored_routed_and_alerted(tmp_path):
    from lead_scoring import pipeline, run_context
    from lead_scoring.crm import client as crm_client

    with pytest.MonkeyPatch.context() as mp, world(tmp_path, mp) as (settings, sandbox):
        # the CRM lives at the data's time: hour 0's write-back is stamped just after 10:00
        sandbox_post(sandbox, "/_sandbox/clock", {"now": (END + timedelta(minutes=5)).isoformat() + "Z"})
        first = pipeline.run_all(run_context.make_context("hour0", END))
        assert first["crm_write_failures"] == 0
        # Leads whose SLA clock is open and falls due before 11:00: each would alert at hour 1
        due = [
            r[0]
            for r in rows(
                settings,
                "select crm_id from marts.lead_sla where is_clock_open and not is_due_before_routing "
                "and sla_due_at <= ? order by crm_id",
                [END + HOUR],
            )
        ]
        assert len(due) >= 4, due
        hard, loser, soft, control = due[:4]
        master = rows(
            settings,
            "select crm_id from marts.lead_scores where crm_object = 'Lead' and crm_id not in (select "
            "crm_id from marts.lead_sla) order by crm_id limit 1",
        )[0][0]

        sf = crm_client.salesforce(crm_client.sandbox_connection(settings.sandbox_dir))
        sf.bulk2.Lead.hard_delete(records=[{"Id": hard}], wait=0.05)
        sandbox_post(sandbox, "/_sandbox/merge", {"object": "Lead", "master": master, "duplicates": [loser]})
        sf.Lead.delete(soft)
        assert {r["Id"] for r in sf.query_all("SELECT Id FROM Lead", include_deleted=True)["records"]} >= {
            loser,
            soft,
        } and not sf.query(f"SELECT Id FROM Lead WHERE Id = '{hard}'", include_deleted=True)["records"]
        sandbox_post(
            sandbox, "/_sandbox/clock", {"now": (END + HOUR + timedelta(minutes=10)).isoformat() + "Z"}
        )

        second = pipeline.run_all(run_context.make_context("hour1", END + HOUR))
        assert second["crm_write_failures"] == 0
        gone = [hard, loser, soft]
        for table in ("lead_scores", "lead_routing", "lead_sla"):
            present = rows(settings, f"select crm_id from marts.{table} where crm_id in (?, ?, ?)", gone)
            assert present == [], (table, present)
        assert rows(settings, "select Id from marts.sync_salesforce__leads where Id in (?, ?, ?)", gone) == []
        alerted = {r[0] for r in rows(settings, "select crm_id from ops.alerts where kind = 'sla_breach'")}
        assert control in alerted and not alerted & set(gone)
        assert rows(settings, "select count(*) from marts.lead_scores where crm_id = ?", [master]) == [(1,)]
        checks = rows(
            settings,
            "select method, checked_until from ops.crm_deletion_checks "
            "where object = 'Lead' and run_id = 'hour1'",
        )
        assert checks == [("getDeleted", END + HOUR)]
        tombstone = rows(
            settings, "select isdeleted, systemmodstamp > ? from raw_salesforce.lead where id = ? "
            "order by systemmodstamp desc limit 1", [END, hard],
        )  # fmt: skip
        assert tombstone == [(True, True)]
        assert rows(settings, "select watermark from ops.watermarks where object = 'Lead'") == [(END + HOUR,)]

        # as_of ahead of the CRM: the watermark stops at the CRM's clock less the overlap
        crm_now = crm_client.server_time(sf)
        extract_and_load(settings, "ahead", END + 5 * HOUR)
        (mark,) = rows(settings, "select watermark from ops.watermarks where object = 'Lead'")[0]
        assert crm_now - timedelta(minutes=5) <= mark < END + 2 * HOUR

        # the delete log purged past the watermark: an Id reconciliation finds the next one
        purged = END + 2 * HOUR
        sandbox_post(sandbox, "/_sandbox/clock", {"now": (purged + timedelta(minutes=30)).isoformat() + "Z"})
        sandbox_post(sandbox, "/_sandbox/deleted/purge", {"before": purged.isoformat() + "Z"})
        sf.bulk2.Lead.hard_delete(records=[{"Id": control}], wait=0.05)
        sandbox_post(sandbox, "/_sandbox/clock", {"now": (purged + HOUR).isoformat() + "Z"})
        mp.setenv("LEADSCORE_EXTRACT_RECONCILE_HOURS", "0")
        extract_and_load(settings, "reconcile", purged + timedelta(minutes=30))
        latest = rows(
            settings,
            "select isdeleted from raw_salesforce.lead where id = ? order by systemmodstamp desc limit 1",
            [control],
        )
        assert latest == [(True,)]
        methods = rows(
            settings, "select method, deletions from ops.crm_deletion_checks where object = 'Lead' "
            "and run_id = 'reconcile'",
        )  # fmt: skip
        assert methods == [("reconciliation", 1)]


def late_commit(db: Path, template_id: str, new_id: str, stamp: datetime) -> None:
    """A Lead that another transaction committed after an extract, stamped before its end:
    written straight into the sandbox's SQLite (the API stamps with the sandbox clock)."""
    text = stamp.strftime("%Y-%m-%dT%H:%M:%S.000+0000")
    con = sqlite3.connect(db)
    try:
        columns = [r[1] for r in con.execute('PRAGMA table_info("Lead")')]
        values = {
            "Id": "?",
            "Email": "'late.commit@example.com'",
            "CreatedDate": "?",
            "LastModifiedDate": "?",
            "SystemModstamp": "?",
        }
        select = ", ".join(values.get(c, f'"{c}"') for c in columns)
        con.execute(
            f'INSERT INTO "Lead" SELECT {select} FROM "Lead" WHERE "Id" = ?',
            [new_id, text, text, text, template_id],
        )
        con.commit()
    finally:
        con.close()


def test_a_late_commit_is_read_and_overlapping_extracts_score_as_one(tmp_path):
    """World A runs 10:00 and 11:00; a Lead stamped 09:58 commits after the 10:00 extract.
    World B, the same CRM, runs 11:00 only. A's 11:00 scores it, and A's scores (its
    extracts overlapping by five minutes) equal B's."""
    from crm_sandbox.store import query_sql
    from lead_scoring import pipeline, run_context

    scores = {}
    late_id = "00Q0LATE000COMMIT1"
    for name in ("a", "b"):
        with (
            pytest.MonkeyPatch.context() as mp,
            world(tmp_path / name, mp, dry_run=True) as (settings, sandbox),
        ):
            template = query_sql(
                sandbox.db, 'SELECT "Id" FROM "Lead" WHERE "IsDeleted" = 0 ORDER BY "Id" LIMIT 1'
            )
            if name == "a":
                pipeline.run_all(run_context.make_context("hour0", END, settings))
            late_commit(sandbox.db, template[0][0], late_id, END - timedelta(minutes=2))
            pipeline.run_all(run_context.make_context("hour1", END + HOUR, settings))
            scores[name] = rows(
                settings, f"select {SCORE_COLUMNS} from marts.lead_scores order by crm_id, crm_object"
            )
            if name == "a":
                assert late_id in {r[0] for r in scores["a"]}
                dupes = rows(
                    settings,
                    "select count(*) from (select id, systemmodstamp from raw_salesforce.lead "
                    "group by id, systemmodstamp having count(*) > 1)",
                )
                assert dupes == [(0,)]
                assert rows(settings, "select sum(rows_already_loaded) from ops.batches")[0][0] > 0
    assert len(scores["a"]) == len(scores["b"]) > 500
    assert scores["a"] == scores["b"]
