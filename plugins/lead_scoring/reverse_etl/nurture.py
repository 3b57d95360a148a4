"""Nurture memberships: the CampaignMembers leadscore creates and deletes (docs/write-back.md,
Nurture), through the write-back's own machinery.

- Creates are an object created once (``diff.ACTION_MODELS``): the payload model
  ``marts.sync_salesforce__campaign_members`` names each member's Campaign
  (``_campaign_name``, from the seed nurture_campaigns); ``with_campaign_ids`` finds those
  Campaigns in the CRM by Name (a marketer creates them) and fills ``CampaignId``. A Campaign
  the CRM does not have stops its members, with a reason that says what to do; they stay
  pending.
- Removals: a member leadscore created (``ops.crm_actions``, kind ``nurture``) whose key is no
  longer in the payload (the person left the tier, opted out, was erased, or came back later
  under a new key) is deleted by its CRM Id from the create result. Each removal has a key of
  its own (``<member key>:removed``) and goes through the same ledger: sync log, dead letters,
  sync state and an ``ops.crm_actions`` row (kind ``nurture_removal``) in one transaction, so
  a removal is sent until the CRM confirms it and never after. A member the CRM no longer
  has (a marketer deleted it) counts as removed; an unanswered delete is read back.
- The MAP side: each run writes, per Campaign, the changes not yet in a file as Marketo
  list-import CSVs (``write_list_files``); each change is stamped with the file that carried
  it (``ops.crm_actions.map_file``), so a re-run of the hour writes the same files and
  nothing new.
"""

from __future__ import annotations

import csv
import hashlib
import logging
import re
from dataclasses import dataclass
from datetime import datetime
from pathlib import Path

import duckdb
import pandas as pd

from lead_scoring import crm_schema
from lead_scoring.crm.http import AmbiguousWriteError
from lead_scoring.reverse_etl.diff import PayloadDiff
from lead_scoring.reverse_etl.transport import COLLECTION_SIZE, Outcome

log = logging.getLogger(__name__)

OBJECT = "CampaignMember"
KEY = crm_schema.CREATE_ONCE_KEYS[OBJECT]
PAYLOAD = "marts.sync_salesforce__campaign_members"
REMOVED_SUFFIX = ":removed"
REMOVALS = "CampaignMember_removals"  # the dry run's file of the members it would delete
# a member that is already gone: deleted in the CRM (recycle bin), or no such record any more
GONE_ERRORS = ("ENTITY_IS_DELETED", "INVALID_CROSS_REFERENCE_KEY")


def _soql_text(value: str) -> str:
    return "'" + value.replace("\\", "\\\\").replace("'", "\\'") + "'"


def campaign_ids(sf, names: list[str]) -> tuple[dict[str, str], list[str]]:
    """Campaign Name -> Id for ``names``, and why the others cannot be used (none, or more
    than one Campaign with the name)."""
    if not names:
        return {}, []
    soql = f"SELECT Id, Name FROM Campaign WHERE Name IN ({', '.join(map(_soql_text, names))})"
    found: dict[str, list[str]] = {}
    for record in sf.query_all(soql)["records"]:
        found.setdefault(record["Name"], []).append(record["Id"])
    problems = [
        f"the CRM has no Campaign named {name!r} (dbt_project/seeds/nurture_campaigns.csv): "
        "create it in Salesforce (a marketer's Campaign, with the seed's member_status among "
        "its member statuses) or correct campaign_name in the seed; its members stay pending"
        for name in names
        if name not in found
    ] + [
        f"{len(ids)} Campaigns are named {name!r} ({', '.join(sorted(ids))}): rename all but one; "
        "its members stay pending"
        for name, ids in sorted(found.items())
        if len(ids) > 1
    ]
    return {name: ids[0] for name, ids in found.items() if len(ids) == 1}, problems


def with_campaign_ids(sf, diff: PayloadDiff) -> tuple[PayloadDiff, list[str]]:
    """``diff`` with ``CampaignId`` filled from ``_campaign_name``; the rows whose Campaign
    cannot be found are left out (pending), with the reasons."""
    if diff.changed.empty:
        return diff, []
    ids, problems = campaign_ids(sf, sorted(set(diff.changed["_campaign_name"])))
    for problem in problems:
        log.error("nurture: %s", problem)
    changed = diff.changed[diff.changed["_campaign_name"].isin(list(ids))].copy()
    changed.insert(1, "CampaignId", changed["_campaign_name"].map(ids))
    return PayloadDiff(diff.object, diff.total, changed), problems


# ------------------------------------------------------------------------------ removals


def removal_diff(con: duckdb.DuckDBPyConnection, table: str = PAYLOAD) -> PayloadDiff:
    """The members leadscore created whose key the payload no longer has and whose removal the
    CRM has not confirmed: one row each, keyed by ``<member key>:removed``, with the member's
    CRM ``Id`` and the ledger's context (person, Campaign)."""
    frame = con.execute(
        f"""
        select
            members.action_id || ? as "{KEY}",
            members.task_id as "Id",
            case when members.crm_id like '00Q%' then members.crm_id end as "LeadId",
            case when members.crm_id not like '00Q%' then members.crm_id end as "ContactId",
            members.campaign_name as _campaign_name,
            'nurture_removal' as _action_kind,
            members.triggered_at as _triggered_at
        from ops.crm_actions members
        where members.object = ? and members.kind = 'nurture'
            and members.action_id not in (select "{KEY}" from {table})
            and members.action_id || ? not in (select action_id from ops.crm_actions)
        order by 1
        """,
        [REMOVED_SUFFIX, OBJECT, REMOVED_SUFFIX],
    ).df()
    frame["payload_hash"] = [hashlib.md5(k.encode()).hexdigest() for k in frame[KEY]]
    return PayloadDiff(OBJECT, len(frame), frame)


def _delete_outcome(key: str, member_id: str, result: dict) -> Outcome:
    if result.get("success"):
        return Outcome(key, "success", operation="delete", record_id=member_id)
    errors = result.get("errors") or []
    if any(e.get("statusCode") in GONE_ERRORS for e in errors):
        return Outcome(key, "success", operation="gone", record_id=member_id)
    text = "; ".join(f"{e.get('statusCode')}: {e.get('message')}" for e in errors)
    return Outcome(key, "failed", text or "rejected by the CRM", operation="delete", record_id=member_id)


def _read_back_deletes(sf, chunk: list[tuple[str, str]]) -> list[Outcome]:
    """After an unanswered delete: a member the CRM no longer lists is removed."""
    ids = ", ".join(_soql_text(member_id) for _, member_id in chunk)
    alive = {r["Id"] for r in sf.query_all(f"SELECT Id FROM {OBJECT} WHERE Id IN ({ids})")["records"]}
    return [
        Outcome(key, "failed", "no answer from the CRM and not deleted; will retry", operation="delete")
        if member_id in alive
        else Outcome(key, "success", operation="delete", record_id=member_id)
        for key, member_id in chunk
    ]


def send_deletes(sf, removals: pd.DataFrame, record, check_budget) -> list[Outcome]:
    """DELETE composite/sobjects?ids=... in chunks of 200, allOrNone false; outcomes handed to
    ``record`` as each request returns."""
    pairs = list(zip(removals[KEY], removals["Id"], strict=True))
    outcomes: list[Outcome] = []
    for start in range(0, len(pairs), COLLECTION_SIZE):
        check_budget()
        chunk = pairs[start : start + COLLECTION_SIZE]
        params = {"ids": ",".join(member_id for _, member_id in chunk), "allOrNone": "false"}
        try:
            results = sf.restful("composite/sobjects", params=params, method="DELETE")
        except AmbiguousWriteError:
            log.warning("no answer for %d %s deletes: reading them back", len(chunk), OBJECT)
            answered = _read_back_deletes(sf, chunk)
        else:
            answered = [_delete_outcome(k, i, r) for (k, i), r in zip(chunk, results, strict=True)]
        record(answered)
        outcomes.extend(answered)
    return outcomes


# ------------------------------------------------------------------------- MAP list files


@dataclass
class ListFiles:
    paths: list[Path]
    adds: int
    removes: int
    without_email: int  # changes of people no model holds any more (erased): not in a file

    def as_dict(self) -> dict:
        return {
            "files": [str(p) for p in self.paths],
            "adds": self.adds,
            "removes": self.removes,
            "without_email": self.without_email,
        }


def _slug(name: str) -> str:
    return re.sub(r"[^a-z0-9]+", "_", name.lower()).strip("_") or "campaign"


def write_list_files(con: duckdb.DuckDBPyConnection, out_dir: Path, as_of: datetime) -> ListFiles:
    """The nurture changes the CRM confirmed and no earlier file carried (plus those this hour's
    files carried, so a re-run writes the same files), per Campaign, in Marketo's list-import
    layout: a header of REST field names (``email``), one address per line. Marketo's Import
    List only adds to a static list, so each Campaign gets ``<campaign>.add.csv`` (import into
    the nurture list) and ``<campaign>.remove.csv`` (import into its removal list, whose smart
    campaign runs Remove from List); a file only when it has lines."""
    stamp = f"{as_of:%Y%m%dT%H%M}"
    con.execute(
        "update ops.crm_actions set map_file = ? where object = ? and map_file is null",
        [stamp, OBJECT],
    )
    stamped = con.execute(
        "select count(*) from ops.crm_actions where object = ? and map_file = ?", [OBJECT, stamp]
    ).fetchall()[0][0]
    if not stamped:
        return ListFiles([], 0, 0, 0)
    rows = con.execute(
        """
        select actions.campaign_name, actions.kind, min(scores.email) as email
        from ops.crm_actions actions
        left join marts.lead_scores scores on actions.crm_id = scores.crm_id
        where actions.object = ? and actions.map_file = ?
        group by actions.campaign_name, actions.kind, actions.crm_id
        """,
        [OBJECT, stamp],
    ).fetchall()
    lists: dict[tuple[str, str], set[str]] = {}
    without_email = 0
    for campaign, kind, email in rows:
        if email is None:
            without_email += 1
            continue
        action = "remove" if kind == "nurture_removal" else "add"
        lists.setdefault((campaign, action), set()).add(email.strip().lower())
    paths = []
    for (campaign, action), emails in sorted(lists.items()):
        out_dir.mkdir(parents=True, exist_ok=True)
        path = out_dir / f"nurture_{_slug(campaign)}_{stamp}.{action}.csv"
        with path.open("w", newline="") as handle:
            writer = csv.writer(handle, lineterminator="\n")
            writer.writerow(["email"])
            writer.writerows([e] for e in sorted(emails))
        paths.append(path)
    adds = sum(len(e) for (_, action), e in lists.items() if action == "add")
    removes = sum(len(e) for (_, action), e in lists.items() if action == "remove")
    if paths:
        log.info("nurture list files: %d adds, %d removes in %s", adds, removes, out_dir)
    return ListFiles(paths, adds, removes, without_email)
