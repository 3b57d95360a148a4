"""The validation stages: what ``pipeline.validate_raw`` and ``pipeline.validate_scores``
run (the GX suites of ``expectations/`` whose file name starts with a prefix)."""

from __future__ import annotations

from pathlib import Path

from lead_scoring import warehouse
from lead_scoring.quality.gx_checks import hold_failed_batches, raise_on_critical, run_suites
from lead_scoring.run_context import RunContext


def _suites(ctx: RunContext, prefix: str) -> list[Path]:
    return sorted(ctx.settings.expectations_dir.glob(f"{prefix}*.json"))


def validate(
    ctx: RunContext, prefix: str, batch_ids: list[str] | None = None, keys: list[str] | None = None
) -> dict:
    """Run the GX suites whose file name starts with ``prefix`` (with ``keys``, on those rows:
    gx_checks.run_suites); raise on a critical failure."""

    with warehouse.connect(ctx.settings.warehouse) as con:
        warehouse.ensure_schema(con)
        results = run_suites(con, _suites(ctx, prefix), ctx.run_id, ctx.run_dir / "gx", batch_ids, keys)
        held = hold_failed_batches(con, results, batch_ids or [])  # raw checks: never score a failing batch
    summary = {
        "suites": {r.suite: r.status for r in results},
        "warnings": [w.describe() for r in results for w in r.warnings],
    }
    raise_on_critical(results, held)
    return summary
