"""Load a CRM deletion check (``extract.deletions``): its tombstones into the raw table and
what it covered into ``ops.crm_deletion_checks``, after the object's records batch.

A tombstone is a raw row with only Id, IsDeleted = true and SystemModstamp (the deletion's
date, or the reconciled window's end): staging takes the latest version of each record and
drops the deleted ones, so a deleted record stops being scored, routed and alerted exactly
as a soft-deleted one does. The check row is written once its tombstones are in, so a run
that stops half-way checks the same deletions again (the loader writes each version once).
"""

from __future__ import annotations

import logging
from dataclasses import dataclass
from datetime import datetime
from pathlib import Path
from typing import Any

import duckdb

from lead_scoring import crm_schema, warehouse
from lead_scoring.load.files import load_crm_text
from lead_scoring.load.raw import Batch, LoadResult, already_loaded
from lead_scoring.run_context import parse_as_of
from lead_scoring.warehouse import utc_now

log = logging.getLogger(__name__)

# ops.crm_deletion_checks.method
FULL_EXTRACT = "full_extract"
GET_DELETED = "getDeleted"
RECONCILIATION = "reconciliation"
UNCHECKED = "unchecked"


@dataclass(frozen=True)
class DeletionState:
    """How far an object's deletions are known: every deletion up to ``checked_until`` is in
    the raw table; ``full_until`` is the end of the last full check (a first extract or an
    Id reconciliation)."""

    checked_until: datetime | None
    full_until: datetime | None


def read_states(con: duckdb.DuckDBPyConnection) -> dict[str, DeletionState]:
    """Each object's ``DeletionState`` from ``ops.crm_deletion_checks``."""
    rows = con.execute(
        f"""select object,
            max(checked_until) filter (where method <> '{UNCHECKED}'),
            max(checked_until) filter (where method in ('{FULL_EXTRACT}', '{RECONCILIATION}'))
        from ops.crm_deletion_checks group by object"""
    ).fetchall()
    return {obj: DeletionState(until, full) for obj, until, full in rows}


def _quote(path: Path) -> str:
    return "'" + str(path).replace("'", "''") + "'"


def reconciliation_tombstones(
    con: duckdb.DuckDBPyConnection, obj: str, live_ids: Path, until: datetime, out: Path
) -> tuple[int, int]:
    """Write to ``out`` (all-text Parquet, the object's fields) a tombstone stamped ``until``
    for each record whose latest version up to ``until`` is live in the raw table and whose
    Id is not among ``live_ids`` (every live Id in the CRM). Returns (tombstones, records
    live in the raw table)."""
    stamp = until.strftime("%Y-%m-%d %H:%M:%S.%f")
    text = f"'{until.isoformat()}'"
    values = {"Id": "live.id", "IsDeleted": "'true'", "SystemModstamp": text, "LastModifiedDate": text}
    columns = ", ".join(
        f'{values.get(name, "cast(null as varchar)")} as "{name}"' for name in crm_schema.fields(obj)
    )
    ctes = f"""
        with versions as (
            select
                id,
                isdeleted,
                row_number() over (
                    partition by id order by systemmodstamp desc, _loaded_at desc
                ) as version_rank
            from {warehouse.raw_table(obj)}
            where systemmodstamp <= timestamp '{stamp}'
        ),
        live as (select id from versions where version_rank = 1 and not coalesce(isdeleted, false)),
        gone as (
            select live.id from live
            where not exists (select 1 from read_parquet({_quote(live_ids)}) as crm where crm."Id" = live.id)
        )"""
    out.parent.mkdir(parents=True, exist_ok=True)
    tombstones = f"{ctes} select {columns} from gone as live order by live.id"
    con.execute(f"copy ({tombstones}) to {_quote(out)} (format parquet)")
    gone = con.execute(f"select count(*) from read_parquet({_quote(out)})").fetchall()[0][0]
    live = con.execute(f"{ctes} select count(*) from live").fetchall()[0][0]
    return gone, live


def _record_check(
    con: duckdb.DuckDBPyConnection,
    obj: str,
    check: dict[str, Any],
    window_end: str,
    batch_id: str | None,
    deletions: int,
    run_id: str,
    note: str | None,
) -> None:
    method, since, until = check["method"], check.get("checked_from"), check.get("checked_until")
    check_id = f"{method}:{obj}:{since or 'beginning'}:{until or window_end}"
    con.execute(
        "insert or ignore into ops.crm_deletion_checks (check_id, object, method, checked_from, "
        "checked_until, deletions, batch_id, run_id, checked_at, note) values (?, ?, ?, ?, ?, ?, ?, ?, ?, ?)",
        [check_id, obj, method, parse_as_of(since) if since else None, parse_as_of(until) if until else None,
         deletions, batch_id, run_id, utc_now(), note],
    )  # fmt: skip


def load_deletion_check(
    con: duckdb.DuckDBPyConnection, entry: dict[str, Any], records_batch_id: str, run_id: str, as_of: datetime
) -> LoadResult | None:
    """Load the deletion check of an extract ``entry`` (after its records batch, whose id is
    ``records_batch_id``); returns the tombstone batch's result, or None when there is none."""
    check = entry.get("deletions")
    if not check:
        return None
    obj = entry["object"]
    method = check["method"]
    note = check.get("note")
    if method in (FULL_EXTRACT, UNCHECKED):
        _record_check(con, obj, check, entry["window_end"], records_batch_id, 0, run_id, note)
        return None
    until = parse_as_of(check["checked_until"])
    if method == GET_DELETED:
        path = Path(check["path"])
        batch_id = f"salesforce:{obj}:deleted:{check['checked_from']}:{check['checked_until']}"
        start = parse_as_of(check["checked_from"])
    elif method == RECONCILIATION:
        live_ids = Path(check["path"])
        path = live_ids.with_name(f"{obj}.reconciled.parquet")
        batch_id = f"salesforce:{obj}:reconciled:{check['checked_until']}"
        start = None
        previous = already_loaded(con, batch_id)
        if previous is not None:  # a retried load: the tombstones are in (not computed anew)
            _record_check(con, obj, check, entry["window_end"], batch_id, previous.rows_loaded, run_id, note)
            return previous
        gone, live = reconciliation_tombstones(con, obj, live_ids, until, path)
        if check.get("rows") == 0 and live:
            note = (
                f"the CRM listed no live {obj} Id while the warehouse holds {live} live: no tombstone "
                "written (an access problem of the integration user?); deletions stay unchecked"
            )
            log.error("%s: %s", obj, note)
            unchecked = {**check, "method": UNCHECKED, "checked_until": None}
            _record_check(con, obj, unchecked, entry["window_end"], None, 0, run_id, note)
            return None
        level = logging.WARNING if gone else logging.INFO
        log.log(level, "%s: Id reconciliation marks %s of %s live records deleted", obj, gone, live)
    else:
        raise ValueError(f"{obj}: unknown deletion check method {method!r}")
    batch = Batch(
        batch_id=batch_id,
        source="salesforce",
        object=obj,
        file=str(path),
        run_id=run_id,
        window_start=start,
        window_end=until,
    )
    result = load_crm_text(con, obj, path, batch, watermark=False, as_of=as_of, skip_loaded_versions=True)
    _record_check(con, obj, check, entry["window_end"], batch_id, result.rows_loaded, run_id, note)
    return result
