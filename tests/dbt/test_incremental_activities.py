"""The incremental activity match, signals and frequency caps (docs/incremental.md) equal a
full rebuild, row for row: hours scored in one warehouse, with new activity, new Leads (one
with an e-mail a Marketo lead already had, one with a Contact's e-mail: a merge), identity
changes (a Lead's e-mail moved to another Lead's, a Marketo lead synced to another Lead), a
backdated run, later copies of an event and a Marketo activity naming other people, and a
Marketo lead whose activities match nobody any more; after each
incremental hour a copy of the warehouse without the incremental state is rebuilt as of the
same instant (lead_scoring_dev.incremental_check) and the activity match, the signals, the
caps, lead_scores, lead_routing and lead_sla must be equal. A generated world of 600 leads,
real dbt on DuckDB; eight dbt invocations, the last a re-run of the same hour."""

from __future__ import annotations

import shutil
from dataclasses import replace
from datetime import datetime, timedelta

import duckdb
import pytest

from lead_scoring.dbt_runner import run_dbt
from lead_scoring_dev.incremental_check import REBUILD, equal_to_full, was_incremental

END = datetime(2026, 11, 1, 10, 0, 0)


def execute(warehouse, sql: str, params: list | None = None) -> list[tuple]:
    con = duckdb.connect(str(warehouse))
    try:
        return con.execute(sql, params or []).fetchall()
    finally:
        con.close()


def add_events(warehouse, batch_id: str, occurred_at: datetime, count: int) -> int:
    """``count`` copies of existing events (new ids, this batch) at ``occurred_at``."""
    execute(
        warehouse,
        f"""insert into raw_map.events
        select * replace (
            event_id || '-{batch_id}' as event_id, ? as occurred_at,
            '{batch_id}' as _batch_id, now() as _loaded_at)
        from raw_map.events where event_type = 'page_view' order by event_id limit {count}""",
        [occurred_at],
    )
    return count


def resend_copies(warehouse, batch_id: str, person_id: str) -> tuple[str, str]:
    """A later copy of an event (now naming CRM record ``person_id``) and of a Marketo
    activity (now of another Marketo lead), in a new batch: the newest copy is the activity
    (stg_map__events, stg_map__marketo_activities). Returns their ids."""
    event_id = execute(warehouse, "select min(event_id) from raw_map.events where crm_id is not null")[0][0]
    execute(
        warehouse,
        f"""insert into raw_map.events
        select * replace (
            '{person_id}' as crm_id, null as email, '{batch_id}' as _batch_id, now() as _loaded_at)
        from raw_map.events where event_id = ?""",
        [event_id],
    )
    matched = """select activities.marketoguid, activities.leadid, matched.person_key
        from raw_map.marketo_activities as activities
        inner join intermediate.int_activities_matched_to_people as matched
            on matched.activity_source = 'marketo'
            and matched.activity_id = cast(activities.marketoguid as varchar)
        order by activities.marketoguid"""
    guid, _, person_key = execute(warehouse, f"{matched} limit 1")[0]
    other_lead = execute(
        warehouse, f"select leadid from ({matched}) where person_key <> ? limit 1", [person_key]
    )
    execute(
        warehouse,
        f"""insert into raw_map.marketo_activities
        select * replace (? as leadid, '{batch_id}' as _batch_id, now() as _loaded_at)
        from raw_map.marketo_activities where marketoguid = ?""",
        [other_lead[0][0], guid],
    )
    return event_id, str(guid)


def new_lead_version(warehouse, batch_id: str, lead_id: str, new_id: str, email: str, at: datetime) -> None:
    """A version of Lead ``lead_id`` (or a new Lead ``new_id`` copied from it) with ``email``."""
    created = "" if new_id == lead_id else "? as createddate,"
    execute(
        warehouse,
        f"""insert into raw_salesforce.lead
        select * replace (
            '{new_id}' as id, ? as email, {created} ? as systemmodstamp,
            '{batch_id}' as _batch_id, now() as _loaded_at)
        from raw_salesforce.lead where id = '{lead_id}'
        order by systemmodstamp desc limit 1""",
        [email, at] if new_id == lead_id else [email, at, at],
    )


@pytest.fixture(scope="module")
def world(tmp_path_factory):
    from lead_scoring.config import load_settings
    from lead_scoring_dev.engines import fixture

    root = tmp_path_factory.mktemp("incremental")
    fixture.build(root / "raw", leads=600, days=30, seed=11, end=END)
    path = root / "warehouse.duckdb"
    shutil.copyfile(root / "raw" / "fixture.duckdb", path)
    return root, replace(load_settings(), warehouse=path)


def test_incremental_hours_equal_a_full_rebuild(world):
    root, settings = world
    warehouse = settings.warehouse
    hour = END - timedelta(hours=3)

    # hour 1: a first build (the match is created whole)
    run_dbt(
        settings,
        ["build", "--select", *REBUILD[2:], "--resource-type", "seed", "--resource-type", "model"],
        hour,
    )
    matched_first = execute(warehouse, "select count(*) from intermediate.int_activities_matched_to_people")[
        0
    ][0]
    assert matched_first > 0
    assert not was_incremental(warehouse)

    # hour 2: new activity; a new Lead with an e-mail only a Marketo lead had, a new Lead with
    # an existing Contact's e-mail (the two merge); a Lead takes another Lead's e-mail (they
    # merge, its old e-mail's group loses it); a Marketo lead is synced to another Lead
    hour += timedelta(hours=1)
    add_events(warehouse, "test_new_activity", hour - timedelta(minutes=20), 30)
    unmatched_email = execute(
        warehouse,
        """select ml.email from raw_map.marketo_leads ml
        where ml.email is not null and lower(trim(ml.email)) not in (
            select lower(trim(email)) from raw_salesforce.lead where email is not null
            union select lower(trim(email)) from raw_salesforce.contact where email is not null)
        and ml.id in (select leadid from raw_map.marketo_activities)
        order by ml.id limit 1""",
    )
    assert unmatched_email, "the generated world has no Marketo lead unknown to the CRM"
    a_lead, other_lead = (
        row[0]
        for row in execute(warehouse, "select distinct id from raw_salesforce.lead order by id limit 2")
    )
    contact_email = execute(
        warehouse, "select email from raw_salesforce.contact where email is not null order by id limit 1"
    )[0][0]
    other_email = execute(
        warehouse,
        f"select email from raw_salesforce.lead where id = '{other_lead}' "
        "order by systemmodstamp desc limit 1",
    )[0][0]
    changed_at = hour - timedelta(minutes=30)
    new_lead_version(
        warehouse, "test_new_leads", a_lead, "00QNEW000000001", unmatched_email[0][0], changed_at
    )
    new_lead_version(warehouse, "test_new_leads", a_lead, "00QNEW000000002", contact_email, changed_at)
    new_lead_version(warehouse, "test_identity", a_lead, a_lead, other_email, changed_at)
    execute(
        warehouse,
        f"""insert into raw_map.marketo_leads
        select * replace ('{other_lead}' as sfdcleadid, null as sfdccontactid, ? as updatedat,
            'test_identity' as _batch_id, now() as _loaded_at)
        from raw_map.marketo_leads where id = (select min(leadid) from raw_map.marketo_activities)
        order by updatedat desc limit 1""",
        [changed_at],
    )
    run_dbt(settings, REBUILD, hour)
    assert was_incremental(warehouse)
    check = equal_to_full(settings, hour, root / "check_hour_2")
    assert check["equal"], check
    assert "int_activities_matched_to_people__state_batches" in check["dropped"]
    assert check["tables"]["intermediate.int_activities_matched_to_people"]["rows"] > matched_first

    # a backdated run, before those changes: a rebuild, point in time (the scores are those
    # of that instant: none of the new Leads)
    backdated = END - timedelta(hours=3, minutes=30)
    run_dbt(settings, REBUILD, backdated)
    assert not was_incremental(warehouse)
    assert not execute(warehouse, "select crm_id from marts.lead_scores where crm_id like '00QNEW%'")

    # hour 3, after the backdated run, with more activity and later copies of an event and a
    # Marketo activity (another person's now): incremental from the backdated state (every
    # change since then is a candidate), equal to a full rebuild
    hour += timedelta(hours=1)
    add_events(warehouse, "test_more_activity", hour - timedelta(minutes=5), 10)
    event_id, guid = resend_copies(warehouse, "test_copies", a_lead)
    copies = "select activity_id, person_key from intermediate.int_activities_matched_to_people " + (
        f"where activity_id in ('{event_id}', '{guid}') order by activity_source"
    )  # (events sort before marketo)
    before = execute(warehouse, copies)
    run_dbt(settings, REBUILD, hour)
    assert was_incremental(warehouse)
    after = execute(warehouse, copies)
    assert [row[0] for row in after] == [event_id, guid], after
    a_lead_key = "select person_key from intermediate.int_people_grouped_by_email where person_id = ?"
    assert after[0][1] == execute(warehouse, a_lead_key, [a_lead])[0][0], after
    assert after[1][1] != dict(before)[guid], (before, after)
    assert len(execute(warehouse, "select crm_id from marts.lead_scores where crm_id like '00QNEW%'")) == 2
    check = equal_to_full(settings, hour, root / "check_hour_3")
    assert check["equal"], check

    # hour 4: nothing new but a Marketo lead that loses its CRM ids and e-mail: its counted
    # activities match nobody now (the match removes them; the caps must forget them)
    hour += timedelta(hours=1)
    gone = execute(
        warehouse,
        """select ml.id from raw_map.marketo_leads ml
        inner join intermediate.int_activities_capped capped
            on capped.activity_source = 'marketo'
            and capped.activity_id in (
                select cast(marketoguid as varchar) from raw_map.marketo_activities where leadid = ml.id)
        order by ml.id limit 1""",
    )[0][0]
    execute(
        warehouse,
        f"""insert into raw_map.marketo_leads
        select * replace (null as sfdcleadid, null as sfdccontactid, 'gone-{gone}@example.invalid' as email,
            ? as updatedat, 'test_unmatched' as _batch_id, now() as _loaded_at)
        from raw_map.marketo_leads where id = {gone}
        order by updatedat desc limit 1""",
        [hour - timedelta(minutes=5)],
    )
    run_dbt(settings, REBUILD, hour)
    assert was_incremental(warehouse)
    unmatched = "intermediate.int_activities_matched_to_people__state_unmatched"
    assert execute(warehouse, f"select count(*) from {unmatched}")[0][0]
    for model in ("int_activities_signalled", "int_activities_capped"):
        assert not execute(
            warehouse,
            f"select 1 from intermediate.{model} where activity_source = 'marketo' and activity_id in ("
            f"select cast(marketoguid as varchar) from raw_map.marketo_activities where leadid = {gone})",
        ), model
    check = equal_to_full(settings, hour, root / "check_hour_4")
    assert check["equal"], check

    # the same hour again (an Airflow retry, the bench's scoring runs): the match re-matches
    # nothing, so its followers have no rows to redo, and the result is unchanged
    run_dbt(settings, REBUILD, hour)
    assert was_incremental(warehouse)
    state = "intermediate.int_activities_matched_to_people__state_batches"
    assert not execute(
        warehouse,
        "select count(*) from intermediate.int_activities_matched_to_people "
        f"where match_build_number = (select max(build_number) from {state})",
    )[0][0]
    check = equal_to_full(settings, hour, root / "check_hour_4_again")
    assert check["equal"], check
