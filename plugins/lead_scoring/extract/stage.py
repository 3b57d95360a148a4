"""The extract stage: what ``pipeline.extract_crm`` and ``pipeline.extract_map`` run.

CRM records changed since each object's watermark, up to the run's ``as_of``, go to Parquet
files (API source), or the Data Loader CSVs present in the landing folder are listed (files
source); MAP files are whatever waits in the MAP landing folder.
"""

from __future__ import annotations

import logging
import time
from datetime import datetime

from lead_scoring import crm_schema, landing, warehouse
from lead_scoring.extract.salesforce import extract_object
from lead_scoring.load.files import crm_landing_files
from lead_scoring.run_context import RunContext, crm_client

log = logging.getLogger(__name__)


def read_watermarks(ctx: RunContext) -> dict[str, datetime]:
    with warehouse.connect(ctx.settings.warehouse) as con:
        warehouse.ensure_schema(con)
        rows = con.execute("select object, watermark from ops.watermarks").fetchall()
    return {obj: mark for obj, mark in rows}


def extract_crm(ctx: RunContext) -> dict:
    """CRM records changed since each object's watermark, up to as_of, to Parquet files
    (API source), or the Data Loader CSVs present in the landing folder (files source)."""
    settings = ctx.settings
    if settings.crm_source == "files":
        entries = [
            {"object": obj, "path": str(path), "source": "files"}
            for obj, path in crm_landing_files(settings.crm_landing)
        ]
        return {"source": "files", "extracts": entries}

    watermarks = read_watermarks(ctx)
    sf = crm_client(ctx)
    out_dir = settings.extracts_dir / ctx.run_id
    entries = []
    for obj in crm_schema.EXTRACT_ORDER:
        start = watermarks.get(obj)
        if start is not None and start >= ctx.as_of:
            log.info("%s: watermark %s is at or past as_of %s, nothing to extract", obj, start, ctx.as_of)
            continue
        entries.append(extract_object(sf, obj, start, ctx.as_of, out_dir))
    return {"source": "salesforce", "extracts": entries}


def extract_map(ctx: RunContext) -> dict:
    """The MAP files waiting in the landing folder (the loader skips those already loaded),
    symbolic links and other non-files included: the loader refuses them with a reason."""
    files = [str(path) for path in landing.entries(ctx.settings.map_landing)]
    return {"files": files, "started_at": time.time()}
