"""The load stage: what ``pipeline.load_raw`` runs.

The run's CRM extracts and MAP files go into the raw schemas, one batch each in
``ops.batches`` (a file or window loaded before is skipped); an API extract's rows that are
versions loaded before (its look-back overlap) are counted, not written again, and its
deletion check's tombstones follow its records (``load.deletions``). Erasure request files
are loaded and applied first (a bad line is quarantined, the run goes on), and applied again
after the loads. Landing files are opened below the landing root, never through a link.
"""

from __future__ import annotations

from pathlib import Path

from lead_scoring import warehouse
from lead_scoring.load.deletions import load_deletion_check
from lead_scoring.load.erasure_requests import load_request_files
from lead_scoring.load.files import load_crm_file, load_crm_text, load_map_file
from lead_scoring.load.raw import Batch
from lead_scoring.privacy import erasure
from lead_scoring.run_context import RunContext, parse_as_of
from lead_scoring.warehouse import utc_now


def load_raw(ctx: RunContext, crm: dict, map_files: dict) -> dict:
    """Load the run's CRM extracts and MAP files into raw_*; returns per-batch counts."""
    root = ctx.settings.landing
    with warehouse.connect(ctx.settings.warehouse) as con:
        warehouse.ensure_schema(con)
        # erasure requests first, so this very load skips their people
        results = load_request_files(con, root / "erasure", root, ctx.run_id, utc_now())
        purged = erasure.purge(con, ctx.run_id, utc_now()).total
        for entry in crm["extracts"]:
            path = Path(entry["path"])
            obj = entry["object"]
            if entry["source"] == "salesforce":
                start = entry["window_start"] or "beginning"
                batch = Batch(
                    batch_id=f"salesforce:{obj}:{start}:{entry['window_end']}",
                    source="salesforce",
                    object=obj,
                    file=str(path),
                    run_id=ctx.run_id,
                    window_start=parse_as_of(entry["window_start"]) if entry["window_start"] else None,
                    window_end=parse_as_of(entry["window_end"]),
                )
                results.append(
                    load_crm_text(
                        con, obj, path, batch, watermark=True, as_of=ctx.as_of, skip_loaded_versions=True
                    )
                )
                deleted = load_deletion_check(con, entry, batch.batch_id, ctx.run_id, ctx.as_of)
                if deleted is not None:
                    results.append(deleted)
            else:
                results.append(load_crm_file(con, obj, path, ctx.run_id, ctx.as_of, root))
        for name in map_files["files"]:
            results.append(load_map_file(con, Path(name), ctx.run_id, ctx.as_of, root))
        new = [r for r in results if not r.skipped]
        for result in new:
            erasure.record_load_erasures(con, ctx.run_id, result.object, result.rows_erased, utc_now())
        # ids first seen in this load (a Marketo lead of an erased address) reach earlier rows
        purged += erasure.purge(con, ctx.run_id, utc_now()).total
    return {
        "batches": [r.as_dict() for r in results],
        "new_batch_ids": [r.batch_id for r in new],
        "rows_read": sum(r.rows_read for r in new),
        "rows_loaded": sum(r.rows_loaded for r in new),
        "rows_quarantined": sum(r.rows_quarantined for r in new),
        "rows_erased": sum(r.rows_erased for r in new) + purged,
        "rows_already_loaded": sum(r.rows_already_loaded for r in new),
    }
