"""The extract stage: what ``pipeline.extract_crm`` and ``pipeline.extract_map`` run.

CRM records changed since each object's watermark go to Parquet files (API source), or the
Data Loader CSVs present in the landing folder are listed (files source); MAP files are
whatever waits in the MAP landing folder. The API windows end at the run's ``as_of`` or at
the CRM's clock minus the overlap, whichever is earlier, and start the overlap before the
watermark (``extract.window``); each object that can be deleted gets its deletion check
(``extract.deletions``).
"""

from __future__ import annotations

import logging
import time
from datetime import datetime

from lead_scoring import crm_schema, landing, warehouse
from lead_scoring.crm.client import server_time
from lead_scoring.extract import window
from lead_scoring.extract.deletions import check_deletions
from lead_scoring.extract.salesforce import extract_object
from lead_scoring.load.deletions import DeletionState, read_states
from lead_scoring.load.files import crm_landing_files
from lead_scoring.run_context import RunContext, crm_client

log = logging.getLogger(__name__)


def read_watermarks(ctx: RunContext) -> tuple[dict[str, datetime], dict[str, DeletionState]]:
    """Each CRM object's watermark, and how far its deletions are known."""
    with warehouse.connect(ctx.settings.warehouse) as con:
        warehouse.ensure_schema(con)
        rows = con.execute("select object, watermark from ops.watermarks").fetchall()
        states = read_states(con)
    return {obj: mark for obj, mark in rows}, states


def extract_crm(ctx: RunContext) -> dict:
    """CRM records changed since each object's watermark (less the overlap), up to as_of or
    the CRM's clock less the overlap, and the deletions since they were last known, to
    Parquet files (API source); or the Data Loader CSVs in the landing folder (files source)."""
    settings = ctx.settings
    if settings.crm_source == "files":
        entries = [
            {"object": obj, "path": str(path), "source": "files"}
            for obj, path in crm_landing_files(settings.crm_landing)
        ]
        return {"source": "files", "extracts": entries}

    watermarks, states = read_watermarks(ctx)
    sf = crm_client(ctx)
    lap, reconcile_after = window.overlap(), window.reconcile_after()
    crm_now = server_time(sf)
    end = window.window_end(ctx.as_of, crm_now, lap)
    if end < ctx.as_of:
        log.info(
            "the CRM's clock is %s: windows end at %s (overlap %s), not at as_of %s",
            crm_now,
            end,
            lap,
            ctx.as_of,
        )
    out_dir = settings.extracts_dir / ctx.run_id
    entries = []
    for obj in crm_schema.EXTRACT_ORDER:
        mark = watermarks.get(obj)
        if mark is not None and mark >= end:
            log.info("%s: watermark %s is at or past the window end %s, nothing to extract", obj, mark, end)
            continue
        entry = extract_object(sf, obj, window.window_start(mark, lap), end, out_dir)
        if crm_schema.has_soft_delete(obj):
            entry["deletions"] = check_deletions(
                sf, obj, mark, states.get(obj), end, lap, reconcile_after, out_dir
            )
        entries.append(entry)
    return {
        "source": "salesforce",
        "crm_time": crm_now.isoformat(),
        "window_end": end.isoformat(),
        "extracts": entries,
    }


def extract_map(ctx: RunContext) -> dict:
    """The MAP files waiting in the landing folder (the loader skips those already loaded),
    symbolic links and other non-files included: the loader refuses them with a reason."""
    files = [str(path) for path in landing.entries(ctx.settings.map_landing)]
    return {"files": files, "started_at": time.time()}
