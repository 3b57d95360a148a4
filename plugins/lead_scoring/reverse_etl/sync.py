"""The write-back stage: what ``pipeline.write_back_crm`` runs, step by step.

Only the newest instant writes: a run older than a write-back that already finished (a
cleared Airflow run, a backfill, ``--as-of`` in the past) scores into history but sends
nothing, and says why (``newer_write_back``); each finished write-back records its ``as_of``
in ``ops.write_back_instants``.

The fast lane (``lead_scoring.fast_lane``) writes only the rows of the people it touched
(``touched``), and records its instant (lane ``fast``) before it sends. An hourly run yields
only to a newer hourly write-back, and skips each record a run as of a later instant wrote
last (``diff_payload(as_of=...)``): the fast lane's minute never blocks the hour, and the
hour never puts back a hot Lead's older score, nor creates or removes a Task or nurture
membership about such a record (``written_later``). The fast lane yields to any newer
write-back.

For each synced object (``diff.PAYLOAD_MODELS``): reconcile the Bulk jobs an interrupted run
left (``writer.reconcile_jobs``), diff the payload against ``ops.crm_sync_state``, stop at the
circuit breaker, send the changed rows (``writer.send_object``); then wait for and record
every object's outcome (``writer.finish_object``). With ``LEADSCORE_DRY_RUN`` the payload
goes to a file and nothing is called.

Then the records created once (``diff.ACTION_MODELS``: handoff Tasks, nurture CampaignMembers),
by the same steps, keyed by their idempotency key: a Task whose Lead still waits for its new
owner in the CRM (the Lead's row failed or was not sent) is held until a run has written that
owner, so a rep never gets the Task of a Lead the CRM does not give them yet. They have no
circuit breaker of their own: a Task or a membership follows a change of owner or tier that the
Lead's breaker has already let through. Nurture members who left are deleted first
(``nurture``), and the run's membership changes go to the MAP list files.
"""

from __future__ import annotations

import logging
import os
from datetime import datetime

from lead_scoring import warehouse
from lead_scoring.reverse_etl import nurture
from lead_scoring.reverse_etl.diff import (
    ACTION_MODELS,
    PAYLOAD_MODELS,
    WRITTEN_LATER_SQL,
    PayloadDiff,
    diff_payload,
)
from lead_scoring.reverse_etl.writer import (
    SyncOptions,
    check_circuit_breaker,
    finish_object,
    reconcile_jobs,
    remove_members,
    send_object,
    write_dry_run,
)
from lead_scoring.run_context import RunContext, crm_client
from lead_scoring.versions import store as versions
from lead_scoring.warehouse import utc_now

log = logging.getLogger(__name__)


def options_from_env(force: bool | None = None, retry_dead_letters: bool = False) -> SyncOptions:
    """Write-back guardrails from ``LEADSCORE_*`` variables (docs/operations.md)."""

    def flag(name: str) -> bool:
        return os.environ.get(name, "").lower() in {"1", "true", "yes"}

    return SyncOptions(
        max_change_share=float(os.environ.get("LEADSCORE_MAX_CHANGE_SHARE", "0.5")),
        force=flag("LEADSCORE_FORCE_SYNC") if force is None else force,
        bulk_threshold=int(os.environ.get("LEADSCORE_BULK_THRESHOLD", "2000")),
        bulk_job_rows=int(os.environ.get("LEADSCORE_BULK_JOB_ROWS", "100000")),
        max_attempts=int(os.environ.get("LEADSCORE_SYNC_MAX_ATTEMPTS", "5")),
        retry_dead_letters=retry_dead_letters,
        api_usage_stop=float(os.environ.get("LEADSCORE_API_USAGE_STOP", "0.9")),
    )


HOURLY, FAST = "hourly", "fast"
# The column of each object's payload that names the person (or Account) a row is about: the
# fast lane writes only the rows of what it touched. Nurture members are left to the hour.
TOUCHED_BY = {"Lead": "Id", "Contact": "Id", "Account": "Id", "Task": "WhoId"}


def newer_write_back(con, as_of: datetime, lane: str = HOURLY) -> str | None:
    """Why a run as of ``as_of`` must not write to the CRM (or raise alerts), or None. The
    hourly lane yields to a newer hourly write-back only, the fast lane to any."""
    only_hourly = "" if lane == FAST else "and coalesce(lane, 'hourly') = 'hourly' "
    rows = con.execute(
        f"select as_of, run_id from ops.write_back_instants where as_of > ? {only_hourly}"
        "order by as_of desc limit 1",
        [as_of],
    ).fetchall()
    if not rows:
        return None
    newer, run_id = rows[0]
    return (
        f"stale run: the CRM already holds the write-back of {newer:%Y-%m-%d %H:%M} (run {run_id}), "
        f"newer than this run's as_of {as_of:%Y-%m-%d %H:%M}; its scores go to history only"
    )


def _outcome(ctx: RunContext, results: list, usage, actions: list | None = None) -> dict:
    """The stage's result: per object, the totals, the API calls; the records created once
    apart, under ``actions``, ``crm_tasks_*`` (handoff Tasks) and ``crm_campaign_members_*``
    (nurture)."""
    actions = actions or []
    members = [r for r in actions if r.object == nurture.OBJECT]
    tasks = [r for r in actions if r.object != nurture.OBJECT]
    return {
        "objects": [r.as_dict() for r in results],
        "actions": [r.as_dict() for r in actions],
        "crm_records_changed": sum(r.changed for r in results),
        "crm_records_written": sum(r.written for r in results),
        "crm_write_failures": sum(r.failed for r in results),
        "crm_dead_letters": sum(r.dead_letters for r in results + actions),
        # Tasks confirmed in the CRM this run: created, or found created by an unanswered send
        "crm_tasks_created": sum(r.written for r in tasks),
        "crm_task_failures": sum(r.failed for r in tasks),
        # due but not sent: their Lead's new owner is not in the CRM yet (sent by a later run)
        "crm_tasks_held": sum(r.held for r in tasks),
        # nurture: members confirmed (created, or found created) and deleted this run
        "crm_campaign_members_created": sum(r.written for r in members),
        "crm_campaign_members_removed": sum(r.removed for r in members),
        "crm_campaign_member_failures": sum(r.failed + r.removal_failures for r in members),
        "api_calls": usage.calls if usage is not None else 0,
        "dry_run": ctx.settings.dry_run,
    }


def hold_until_owner_written(con, diff: PayloadDiff) -> tuple[PayloadDiff, int]:
    """``diff`` without the actions whose Lead (``WhoId``) still has a change of owner pending
    in the Lead payload (its row failed, was not sent, or is a dead letter), and how many were
    held. They stay pending: the run that writes the owner sends them."""
    if diff.changed.empty or "WhoId" not in diff.changed.columns:
        return diff, 0
    leads = diff_payload(con, "Lead").changed
    if "_crm_owner_id" in leads.columns:  # only a Lead whose owner moves holds its Task
        leads = leads[leads["OwnerId"].astype(object) != leads["_crm_owner_id"].astype(object)]
    held = diff.changed["WhoId"].isin(set(leads["Id"]))
    if held.any():
        log.warning(
            "%d %s records held: their Lead's new owner is not in the CRM yet (sent once it is)",
            int(held.sum()),
            diff.object,
        )
    return PayloadDiff(diff.object, diff.total, diff.changed[~held]), int(held.sum())


def _reconcile(con, ctx: RunContext, sf, obj: str):
    """Finish the Bulk jobs of ``obj`` an interrupted run left; returns the client (made if
    needed)."""
    unfinished = con.execute(
        "select count(*) from ops.crm_sync_jobs where object = ? and state in ('open', 'uploaded')", [obj]
    ).fetchall()[0][0]
    if unfinished:
        sf = sf or crm_client(ctx)
        reconcile_jobs(con, sf, obj, ctx.run_id)
    return sf


def last_hourly_write_back(con) -> datetime | None:
    """The as_of of the latest hourly write-back (None before the first)."""
    return con.execute(
        "select max(as_of) from ops.write_back_instants where coalesce(lane, 'hourly') = 'hourly'"
    ).fetchall()[0][0]


def hours_since_last_write_back(con, as_of: datetime) -> float | None:
    """Hours from the last finished hourly write-back's as_of to ``as_of`` (None before the
    first): the decay of every score since then is what the circuit breaker allows for."""
    last = last_hourly_write_back(con)
    return None if last is None else (as_of.replace(tzinfo=None) - last).total_seconds() / 3600


def restrict(diff: PayloadDiff, touched: set[str] | None) -> PayloadDiff:
    """``diff`` with only the rows about ``touched`` people and Accounts (all without)."""
    if touched is None:
        return diff
    column = TOUCHED_BY.get(diff.object)
    keep = diff.changed[column].isin(touched) if column else [False] * len(diff.changed)
    return PayloadDiff(diff.object, diff.total, diff.changed[keep].reset_index(drop=True))


# The columns of an action's row that name its person
PERSON_COLUMNS = {"Task": ["WhoId"], "CampaignMember": ["LeadId", "ContactId"]}


def written_later(con, as_of: datetime) -> set[str]:
    """The records a run as of a later instant than ``as_of`` wrote last (a fast-lane minute
    after this hour): an hourly run creates and removes no action about them either."""
    return {
        row[0]
        for row in con.execute(
            f"select state.crm_id from ops.crm_sync_state state where {WRITTEN_LATER_SQL}",
            [as_of],
        ).fetchall()
    }


def without_people(diff: PayloadDiff, people: set[str]) -> PayloadDiff:
    """``diff`` without the action rows about ``people``."""
    columns = [c for c in PERSON_COLUMNS.get(diff.object, []) if c in diff.changed.columns]
    if not people or not columns or diff.changed.empty:
        return diff
    about = diff.changed[columns].isin(people).any(axis=1)
    return PayloadDiff(diff.object, diff.total, diff.changed[~about].reset_index(drop=True))


def write_back(ctx: RunContext, options: SyncOptions, touched: set[str] | None = None) -> dict:
    """Send the changed payload rows of each synced object to the CRM (or to a file when
    LEADSCORE_DRY_RUN is set), after finishing any bulk job an interrupted run left. With
    ``touched`` (the fast lane), only the rows about those people and Accounts."""
    results, sent, sf = [], [], None
    lane = HOURLY if touched is None else FAST
    with warehouse.connect(ctx.settings.warehouse) as con:
        warehouse.ensure_schema(con)
        stale = None if ctx.settings.dry_run else newer_write_back(con, ctx.as_of, lane)
        if stale is not None:
            log.warning("write-back skipped: %s", stale)
            return {**_outcome(ctx, [], None), "skipped_reason": stale}
        # every score that goes out traces to a scoring version (an unrecorded one is recorded now)
        seeds = ctx.settings.dbt_project_dir / "seeds"
        version, _ = versions.record_if_changed(con, seeds, f"run {ctx.run_id}")
        stopped: Exception | None = None
        gap_hours = hours_since_last_write_back(con, ctx.as_of)
        if lane == FAST and not ctx.settings.dry_run:  # before sending: see the module's doc
            _record_instant(con, ctx, lane)
        try:
            for obj in PAYLOAD_MODELS:
                if not ctx.settings.dry_run:
                    sf = _reconcile(con, ctx, sf, obj)
                diff = restrict(diff_payload(con, obj, as_of=ctx.as_of), touched)
                if ctx.settings.dry_run:
                    results.append(write_dry_run(diff, ctx.run_dir / "dry_run"))
                    continue
                synced_before = con.execute(
                    "select count(*) from ops.crm_sync_state where object = ?", [obj]
                ).fetchall()[0][0]
                check_circuit_breaker(diff, synced_before, options.max_change_share, options.force, gap_hours)
                if diff.changed_count:
                    sf = sf or crm_client(ctx)
                sent.append(send_object(con, sf, diff, ctx.run_id, options))
        except Exception as exc:  # noqa: BLE001 - re-raised below, once what was sent is recorded
            stopped = exc
        # Every object's Bulk jobs are sent before the first is waited for, so the CRM works
        # on them while the next object is diffed and sent. The objects already sent are
        # waited for and recorded even when a later one stops the run (its circuit breaker,
        # an error); a crash or an interrupt leaves them to the next run's reconcile.
        results += [finish_object(con, sf, s) for s in sent]
        if stopped is not None:
            raise stopped
        actions, nurture_notes = [], {}
        later = written_later(con, ctx.as_of) if lane == HOURLY else set()
        for obj in ACTION_MODELS:  # after the owners they follow are written
            if lane == FAST and obj not in TOUCHED_BY:
                continue
            if ctx.settings.dry_run:
                actions.append(
                    write_dry_run(restrict(diff_payload(con, obj), touched), ctx.run_dir / "dry_run")
                )
                if obj == nurture.OBJECT:  # and the members it would delete
                    removals = nurture.removal_diff(con)
                    write_dry_run(
                        PayloadDiff(nurture.REMOVALS, removals.total, removals.changed),
                        ctx.run_dir / "dry_run",
                    )
                continue
            sf = _reconcile(con, ctx, sf, obj)
            if obj == nurture.OBJECT:
                sf, result = _nurture(con, ctx, sf, options, nurture_notes, later)
                actions.append(result)
                continue
            diff, held = hold_until_owner_written(
                con, without_people(restrict(diff_payload(con, obj), touched), later)
            )
            if diff.changed_count:
                sf = sf or crm_client(ctx)
            result = finish_object(con, sf, send_object(con, sf, diff, ctx.run_id, options))
            result.changed, result.held = result.changed + held, held
            actions.append(result)
        if lane == HOURLY and not ctx.settings.dry_run:
            nurture_notes["map_lists"] = nurture.write_list_files(
                con, ctx.run_dir / "map_lists", ctx.as_of
            ).as_dict()
            _record_instant(con, ctx, lane)
    usage = getattr(getattr(sf, "session", None), "api_usage", None)
    if usage is not None:
        log.info(
            "CRM API: %d calls, %d retries this run; daily usage %s/%s",
            usage.calls,
            usage.retries,
            usage.used,
            usage.limit,
        )
    return {
        **_outcome(ctx, results, usage, actions),
        **nurture_notes,
        "scoring_version": version["version_id"],
    }


def _record_instant(con, ctx: RunContext, lane: str) -> None:
    con.execute(
        "insert into ops.write_back_instants (as_of, run_id, finished_at, lane) values (?, ?, ?, ?)",
        [ctx.as_of, ctx.run_id, utc_now(), lane],
    )


def _nurture(con, ctx: RunContext, sf, options: SyncOptions, notes: dict, later: set[str]):
    """The nurture memberships: first delete the members who left (so a person who comes back
    under a new key is not refused as a duplicate), then create the new ones in the Campaigns
    the CRM has; a Campaign it lacks is reported (``notes["nurture_stopped"]``), its members
    stay pending. Nobody in ``later`` (written by a later run) joins or leaves. Returns the
    client (made if needed) and the object's figures."""
    removals = without_people(nurture.removal_diff(con), later)
    diff = without_people(diff_payload(con, nurture.OBJECT), later)
    if removals.changed_count or diff.changed_count:
        sf = sf or crm_client(ctx)
    removed, removal_failures, removal_dead = (
        remove_members(con, sf, removals, ctx.run_id, options) if removals.changed_count else (0, 0, 0)
    )
    ready, problems = nurture.with_campaign_ids(sf, diff)
    if problems:
        notes["nurture_stopped"] = "; ".join(problems)
    result = finish_object(con, sf, send_object(con, sf, ready, ctx.run_id, options))
    result.changed = diff.changed_count
    result.removed, result.removal_failures = removed, removal_failures
    result.dead_letters += removal_dead
    return sf, result
