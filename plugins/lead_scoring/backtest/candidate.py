"""A candidate seed folder from the win analysis: the current fit rules and intent signals
with their points replaced by ``reporting.rpt_icp_attribute_lift.suggested_points``."""

from __future__ import annotations

import csv
import logging
from pathlib import Path

import duckdb

log = logging.getLogger(__name__)

# seed file -> (id column, component in rpt_icp_attribute_lift)
SUGGESTED_SEEDS = {"fit_rules.csv": ("rule_id", "fit"), "intent_signals.csv": ("signal_id", "intent")}


def suggested_points(warehouse: Path) -> dict[str, dict[str, int]]:
    """component -> rule id -> suggested points (rules with enough people only)."""
    con = duckdb.connect(str(warehouse))
    try:
        rows = con.execute(
            "select component, rule_id, suggested_points from reporting.rpt_icp_attribute_lift "
            "where has_rule and suggested_points is not null and component in ('fit', 'intent')"
        ).fetchall()
    except duckdb.CatalogException as error:
        raise RuntimeError(
            "reporting.rpt_icp_attribute_lift does not exist: "
            "build the reports first (leadscore report --build)"
        ) from error
    finally:
        con.close()
    out: dict[str, dict[str, int]] = {}
    for component, rule_id, points in rows:
        out.setdefault(component, {})[rule_id] = int(points)
    return out


def write_candidate_seeds(
    seeds_dir: Path, suggestions: dict[str, dict[str, int]], out_dir: Path
) -> dict[str, int]:
    """Copies of the seeds in ``SUGGESTED_SEEDS`` with points replaced; returns rules changed."""
    out_dir.mkdir(parents=True, exist_ok=True)
    changed: dict[str, int] = {}
    for name, (id_column, component) in SUGGESTED_SEEDS.items():
        with (seeds_dir / name).open(newline="") as handle:
            reader = csv.DictReader(handle)
            fields, rows = reader.fieldnames or [], list(reader)
        count = 0
        for row in rows:
            new = suggestions.get(component, {}).get(row[id_column])
            if new is not None and float(row["points"]) != new:
                row["points"] = str(new)
                count += 1
        with (out_dir / name).open("w", newline="") as handle:
            writer = csv.DictWriter(handle, fieldnames=fields, lineterminator="\n")
            writer.writeheader()
            writer.writerows(rows)
        changed[name] = count
    log.info("candidate seeds from the win analysis in %s: points changed %s", out_dir, changed)
    return changed
