"""No gap in extraction, end to end: generator, CRM sandbox over HTTPS, the real
simple-salesforce client and `leadscore run`'s stages across hours.

- Records deleted for good (Bulk hardDelete), merged away or soft-deleted between two runs
  stop being scored, routed and alerted; getDeleted finds the hard-deleted one, and an Id
  reconciliation does when the delete log no longer reaches back.
- A run whose as_of is ahead of the CRM's clock does not move the watermark past it.
- A change committed after an extract with an earlier SystemModstamp is read by the next
  run (look-back overlap), and two overlapping extracts score exactly as one: a second
  warehouse that only runs the second hour, on the same CRM, gives the same scores.
All on one generated world, whose two full hours the checks share."""

from __future__ import annotations

import sqlite3
from datetime import datetime, timedelta
from pathlib import Path

import pytest
import requests

from tests.support import generated_world, isolated_env, rows

END = datetime(2026, 11, 1, 10, 0, 0)
HOUR = timedelta(hours=1)
pytestmark = pytest.mark.e2e

SCORE_COLUMNS = (
    "crm_id, crm_object, email, account_id, fit_score, intent_score, negative_score, composite_score, "
    "grade, tier, tier_label, is_mql, is_sql, is_disqualified, score_reasons, scoring_model_version"
)


def world(root: Path, mp: pytest.MonkeyPatch):
    """Settings under ``root``, 600 generated leads in a running sandbox; yields (settings, sandbox)."""
    return generated_world(root, mp, leads=600, days=45, seed=11, end=END)


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


def extract_and_load(settings, run_id: str, as_of: datetime) -> dict:
    from lead_scoring import pipeline, run_context

    ctx = run_context.make_context(run_id, as_of, settings)
    return pipeline.load_raw(ctx, pipeline.extract_crm(ctx), {"files": []})


def test_deleted_merged_and_late_leads_across_hours(tmp_path):
    from lead_scoring import pipeline, run_context
    from lead_scoring.config import load_settings
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
        # a Lead stamped 09:58 commits after the 10:00 extract; a second warehouse that never
        # ran 10:00 reads the same CRM (dry run: it changes nothing) as of 11:00
        late_id = "00Q0LATE000COMMIT1"
        template = rows(settings, "select crm_id from marts.lead_scores where crm_object = 'Lead' order by 1")
        late_commit(sandbox.db, next(t for (t,) in template if t not in {hard, loser, soft}), late_id,
                    END - timedelta(minutes=2))  # fmt: skip
        with pytest.MonkeyPatch.context() as alone:
            isolated_env(tmp_path / "alone", alone)
            alone.setenv("LEADSCORE_LANDING", str(settings.landing))
            alone.setenv("LEADSCORE_SANDBOX_DIR", str(settings.sandbox_dir))
            alone.setenv("LEADSCORE_DRY_RUN", "true")
            one_extract = load_settings()
            pipeline.run_all(run_context.make_context("hour1_alone", END + HOUR, one_extract))
            alone_scores = rows(
                one_extract, f"select {SCORE_COLUMNS} from marts.lead_scores order by crm_id, crm_object"
            )

        second = pipeline.run_all(run_context.make_context("hour1", END + HOUR))
        assert second["crm_write_failures"] == 0
        # the late commit is read by the next run (look-back overlap), nothing loaded twice, and
        # two overlapping extracts (10:00 and 11:00) score exactly as one (11:00)
        scores = rows(settings, f"select {SCORE_COLUMNS} from marts.lead_scores order by crm_id, crm_object")
        assert late_id in {r[0] for r in scores}
        dupes = rows(
            settings,
            "select count(*) from (select id, systemmodstamp from raw_salesforce.lead "
            "group by id, systemmodstamp having count(*) > 1)",
        )
        assert dupes == [(0,)]
        assert rows(settings, "select sum(rows_already_loaded) from ops.batches")[0][0] > 0
        assert len(scores) > 500 and scores == alone_scores
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
