"""Deleted and merged CRM records, and how far they are known.

``queryAll`` returns soft-deleted records (in the Recycle Bin, a merge's losers) with
IsDeleted = true, and staging drops them. A record deleted for good (Recycle Bin emptied,
Bulk ``hardDelete``) is absent from it, and would stay scored, routed and alerted. So each
incremental run also asks getDeleted (``sobjects/<Object>/deleted/?start=&end=``) for the
deletions since the object's deletions were last known, and writes one tombstone row per
deleted Id (IsDeleted = true, SystemModstamp = deletedDate): the loader appends them to the
raw table like any version and staging drops the record as for a soft delete.

getDeleted covers about 15 days (``earliestDateAvailable``; less after a purge of the delete
log). When it refuses the window or does not reach back to its start, an Id reconciliation
replaces it: the Ids of every live record (``SELECT Id``, REST or a Bulk query job) go to a
Parquet file, and the loader writes a tombstone for each record the warehouse holds as live
that the CRM no longer has. A reconciliation reads every Id of the object, so at most one
runs per ``LEADSCORE_EXTRACT_RECONCILE_HOURS`` (``extract.window.reconcile_after``); a run
that can do neither records the check as ``unchecked`` and logs it: its deletions wait for
the next getDeleted or reconciliation, nothing is lost.

What each check covered goes to ``ops.crm_deletion_checks`` when the load has written its
tombstones (``load.deletions``, which also reads it back as each object's ``DeletionState``);
a first extract (``queryAll`` of everything) counts as a full check. ``method``:
``full_extract``, ``getDeleted``, ``reconciliation``, ``unchecked``.
"""

from __future__ import annotations

import logging
from datetime import datetime, timedelta, timezone
from pathlib import Path
from typing import Any

from lead_scoring import crm_schema
from lead_scoring.extract.salesforce import query_to_parquet, write_text_parquet
from lead_scoring.extract.soql import live_ids_query
from lead_scoring.load.deletions import (
    FULL_EXTRACT,
    GET_DELETED,
    RECONCILIATION,
    UNCHECKED,
    DeletionState,
)
from lead_scoring.run_context import parse_as_of

log = logging.getLogger(__name__)

# getDeleted ignores seconds and needs more than a minute between start and end
MIN_GET_DELETED_SPAN = timedelta(minutes=2)
# the errors meaning "getDeleted cannot answer this window": reconcile instead
UNANSWERABLE = ("INVALID_REPLICATION_DATE", "EXCEEDED_ID_LIMIT")


def _utc(moment: datetime) -> datetime:
    return moment.replace(tzinfo=timezone.utc)


def _minute(moment: datetime) -> datetime:
    return moment.replace(second=0, microsecond=0)


def _error_code(error: Exception) -> str | None:
    content = getattr(error, "content", None)
    if isinstance(content, list) and content and isinstance(content[0], dict):
        return content[0].get("errorCode")
    return None


def _get_deleted(sf, obj: str, start: datetime, end: datetime) -> tuple[dict | None, str | None]:
    """getDeleted's answer for [start, end), or (None, why it cannot answer)."""
    from simple_salesforce.exceptions import SalesforceMalformedRequest  # noqa: PLC0415 - lazy, heavy

    try:
        answer = getattr(sf, obj).deleted(_utc(start), _utc(end))
    except SalesforceMalformedRequest as error:
        code = _error_code(error)
        if code not in UNANSWERABLE:
            raise
        message = error.content[0].get("message", "")
        return None, f"getDeleted refused the window from {start:%Y-%m-%d %H:%M} ({code}: {message})"
    earliest = parse_as_of(answer["earliestDateAvailable"])
    if earliest > start:
        return None, f"getDeleted covers only from {earliest:%Y-%m-%d %H:%M}, not from {start:%Y-%m-%d %H:%M}"
    return answer, None


def tombstones(deleted: list[dict[str, Any]]) -> list[dict[str, Any]]:
    """One raw row per getDeleted record: Id, IsDeleted = true, stamped with its deletedDate."""
    return [
        {
            "Id": record["id"],
            "IsDeleted": True,
            "LastModifiedDate": record["deletedDate"],
            "SystemModstamp": record["deletedDate"],
        }
        for record in deleted
    ]


def check_deletions(
    sf,
    obj: str,
    watermark: datetime | None,
    state: DeletionState | None,
    end: datetime,
    lap: timedelta,
    reconcile_after: timedelta,
    out_dir: Path,
) -> dict[str, Any]:
    """The deletion check of ``obj`` for a run whose window ends at ``end`` (see the module
    docstring); returns what the load needs (JSON-able): ``method``, ``checked_from``,
    ``checked_until``, ``path`` (tombstones, or the live Ids of a reconciliation), ``rows``
    and a ``note``."""
    if watermark is None:
        return {"method": FULL_EXTRACT, "checked_from": None, "checked_until": end.isoformat()}
    since = state.checked_until if state is not None and state.checked_until is not None else watermark
    start = min(since - lap, _minute(end) - MIN_GET_DELETED_SPAN)
    answer, refused = _get_deleted(sf, obj, start, end)
    if answer is not None:
        covered = min(parse_as_of(answer["latestDateCovered"]), end)
        path = out_dir / f"{obj}.deleted.parquet"
        rows = write_text_parquet(tombstones(answer["deletedRecords"]), crm_schema.fields(obj), path)
        log.info("%s: %s deletions in [%s, %s) (getDeleted)", obj, rows, start, covered)
        return {
            "method": GET_DELETED,
            "checked_from": start.isoformat(),
            "checked_until": covered.isoformat(),
            "path": str(path),
            "rows": rows,
        }
    full = state.full_until if state is not None else None
    if full is None or end - full >= reconcile_after:
        path = out_dir / f"{obj}.live_ids.parquet"
        rows, via = query_to_parquet(sf, live_ids_query(obj), ["Id"], path, include_deleted=False)
        log.warning(
            "%s: %s; reconciling Ids instead: %s live records in the CRM (%s), the ones the warehouse "
            "holds as live beyond them are marked deleted",
            obj, refused, rows, via,
        )  # fmt: skip
        return {
            "method": RECONCILIATION,
            "checked_from": None,
            "checked_until": end.isoformat(),
            "path": str(path),
            "rows": rows,
            "note": refused,
        }
    due = full + reconcile_after
    note = (
        f"{refused}; deletions since {since:%Y-%m-%d %H:%M} wait for the next Id reconciliation, "
        f"due for a window ending at {due:%Y-%m-%d %H:%M} or later (LEADSCORE_EXTRACT_RECONCILE_HOURS)"
    )
    log.warning("%s: %s", obj, note)
    return {"method": UNCHECKED, "checked_from": since.isoformat(), "checked_until": None, "note": note}
