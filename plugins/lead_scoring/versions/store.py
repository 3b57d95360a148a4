"""Scoring versions: every scoring configuration that goes live, with who, when, why and what
changed, and the rollback to an earlier one (docs/scoring.md, "Scoring versions").

A configuration is the scoring seeds' contents (``SCORING_SEEDS``: the seeds whose rows
``int_scoring_model_versioned`` hashes into ``scoring_model_version``) plus the promoted
model version. ``ops.scoring_versions`` has one row per configuration that went live, numbered
``v1``, ``v2``, ...; ``ops.scoring_version_files`` keeps each version's seed files, so a
rollback writes them back byte for byte and re-promotes its model: the next run scores as that
version did.

A version is recorded by ``leadscore versions record --reason`` (the deliberate way), by
``leadscore rollback`` and ``leadscore model promote``, or, for a configuration that reached a
run without either (seeds edited by hand), by that run's write-back, with a reason saying so.
"""

from __future__ import annotations

import csv
import getpass
import hashlib
import io
import logging
import os
from dataclasses import dataclass
from datetime import datetime
from pathlib import Path

import duckdb

from lead_scoring.config import UserError
from lead_scoring.warehouse import utc_now

log = logging.getLogger(__name__)

# The seeds a scoring configuration is made of, with the column that names a row (the others
# are the row's settings). Routing and SLA seeds (reps, territories, policies) are operations,
# not scoring: a rollback never touches them.
SCORING_SEEDS = {
    "fit_rules": "rule_id",
    "title_patterns": "pattern",
    "intent_signals": "signal_id",
    "sequence_rules": "sequence_id",
    "negative_rules": "rule_id",
    "scoring_parameters": "parameter",
    "email_domain_lists": "domain",
    "marketo_activity_types": "activity_type_id",
}

UNRECORDED_REASON = "not recorded with `leadscore versions record`: seeds edited by hand or a model promoted"


@dataclass(frozen=True)
class Configuration:
    """What scores: the scoring seed files' text and the promoted model version."""

    files: dict[str, str]  # seed name -> CSV text
    model_version: str | None

    @property
    def fingerprint(self) -> str:
        digest = hashlib.sha256()
        for name in sorted(self.files):
            digest.update(f"{name}\0{self.files[name]}\0".encode())
        digest.update((self.model_version or "").encode())
        return digest.hexdigest()[:16]


def ensure_tables(con: duckdb.DuckDBPyConnection) -> None:
    con.execute("create schema if not exists ops")
    con.execute(
        "create table if not exists ops.scoring_versions (version_id varchar primary key, number integer, "
        "fingerprint varchar, model_version varchar, created_at timestamp, created_by varchar, "
        "reason varchar, source varchar, changes varchar, is_live boolean)"
    )
    con.execute(
        "create table if not exists ops.scoring_version_files (version_id varchar, seed varchar, "
        "content varchar, primary key (version_id, seed))"
    )


def current_configuration(seeds_dir: Path, con: duckdb.DuckDBPyConnection) -> Configuration:
    """The configuration the next build scores with: the seed files and the promoted model."""
    missing = [name for name in SCORING_SEEDS if not (seeds_dir / f"{name}.csv").is_file()]
    if missing:
        raise UserError(f"scoring seeds missing in {seeds_dir}: {', '.join(f'{m}.csv' for m in missing)}")
    files = {name: (seeds_dir / f"{name}.csv").read_text(encoding="utf-8") for name in SCORING_SEEDS}
    promoted = None
    if con.execute(
        "select 1 from information_schema.tables where table_schema = 'ops' and table_name = 'model_versions'"
    ).fetchall():
        rows = con.execute("select version_id from ops.model_versions where is_promoted").fetchall()
        promoted = rows[0][0] if rows else None
    return Configuration(files, promoted)


def live_version(con: duckdb.DuckDBPyConnection) -> dict | None:
    ensure_tables(con)
    rows = con.execute(
        "select version_id, number, fingerprint, model_version from ops.scoring_versions where is_live"
    ).fetchall()
    if not rows:
        return None
    version_id, number, fingerprint, model_version = rows[0]
    return {
        "version_id": version_id,
        "number": number,
        "fingerprint": fingerprint,
        "model_version": model_version,
    }


def version_files(con: duckdb.DuckDBPyConnection, version_id: str) -> dict[str, str]:
    rows = con.execute(
        "select seed, content from ops.scoring_version_files where version_id = ?", [version_id]
    ).fetchall()
    return dict(rows)


def who() -> str:
    """``LEADSCORE_USER``, else the login name (an Airflow task passes its run)."""
    name = os.environ.get("LEADSCORE_USER", "").strip()
    if name:
        return name
    try:
        return getpass.getuser()
    except (KeyError, OSError):  # no login name in a bare container
        return "unknown"


def record(
    con: duckdb.DuckDBPyConnection, config: Configuration, reason: str, source: str, by: str | None = None
) -> tuple[dict, bool]:
    """Record ``config`` as the live version unless it already is; returns the live version
    and whether a new one was recorded."""
    if not reason.strip():
        raise UserError("a scoring version needs a reason: --reason 'what changed and why'")
    live = live_version(con)
    if live is not None and live["fingerprint"] == config.fingerprint:
        return live, False
    before = Configuration(version_files(con, live["version_id"]), live["model_version"]) if live else None
    number = con.execute("select coalesce(max(number), 0) + 1 from ops.scoring_versions").fetchall()[0][0]
    version_id = f"v{number}"
    changes = describe_changes(before, config)
    con.execute("begin transaction")
    try:
        con.execute("update ops.scoring_versions set is_live = false where is_live")
        con.execute(
            "insert into ops.scoring_versions values (?, ?, ?, ?, ?, ?, ?, ?, ?, true)",
            [version_id, number, config.fingerprint, config.model_version, utc_now(), by or who(),
             reason.strip(), source, changes],
        )  # fmt: skip
        for seed, content in config.files.items():
            con.execute("insert into ops.scoring_version_files values (?, ?, ?)", [version_id, seed, content])
        con.execute("commit")
    except Exception:
        con.execute("rollback")
        raise
    log.info("scoring version %s is live (%s): %s", version_id, reason.strip(), changes)
    return {"version_id": version_id, "number": number, "fingerprint": config.fingerprint,
            "model_version": config.model_version}, True  # fmt: skip


def record_if_changed(con: duckdb.DuckDBPyConnection, seeds_dir: Path, by: str) -> tuple[dict, bool]:
    """What a run calls before its scores go out: a configuration nobody recorded is recorded
    now (``UNRECORDED_REASON``), so every score traces to a version."""
    ensure_tables(con)
    config = current_configuration(seeds_dir, con)
    live = live_version(con)
    first = live is None
    version, recorded = record(
        con, config, "the configuration the first scored run used" if first else UNRECORDED_REASON,
        "first run" if first else "run", by,
    )  # fmt: skip
    if recorded and not first:
        log.warning(
            "scoring version %s recorded by this run: %s. Next time: leadscore versions record --reason ...",
            version["version_id"],
            UNRECORDED_REASON,
        )
    return version, recorded


# ------------------------------------------------------------------------------------------
# what changed between two configurations


def _rows(text: str, key: str) -> dict[str, dict[str, str]]:
    """A seed's rows by their key column (``key|n`` for the n-th repeat of a key)."""
    rows: dict[str, dict[str, str]] = {}
    for row in csv.DictReader(io.StringIO(text)):
        name = row.get(key) or ""
        label, n = name, 1
        while label in rows:
            n += 1
            label = f"{name}|{n}"
        rows[label] = row
    return rows


def seed_changes(seed: str, before: str, after: str) -> list[str]:
    """One phrase per row added, removed or changed (``points 20 → 25``)."""
    key = SCORING_SEEDS[seed]
    old, new = _rows(before, key), _rows(after, key)
    phrases = [f"+{k}" for k in new if k not in old] + [f"-{k}" for k in old if k not in new]
    for k in new:
        if k in old and new[k] != old[k]:
            moved = [
                f"{column} {old[k].get(column) or '∅'} → {value or '∅'}"
                for column, value in new[k].items()
                if column not in ("description",) and old[k].get(column) != value
            ]
            phrases.append(f"{k}: {', '.join(moved) or 'description'}")
    return phrases


def describe_changes(before: Configuration | None, after: Configuration) -> str:
    """A one-line summary: per seed the rules added (+), removed (-) and re-pointed, the
    thresholds moved, the model swapped."""
    if before is None:
        return "first version"
    parts = []
    for seed in SCORING_SEEDS:
        phrases = seed_changes(seed, before.files.get(seed, ""), after.files.get(seed, ""))
        if phrases:
            shown = "; ".join(phrases[:6]) + (f"; {len(phrases) - 6} more" if len(phrases) > 6 else "")
            parts.append(f"{seed}: {shown}")
    if before.model_version != after.model_version:
        parts.append(f"model {before.model_version or 'none'} → {after.model_version or 'none'}")
    return " | ".join(parts) or "no change in the rows (formatting only)"


def list_versions(con: duckdb.DuckDBPyConnection) -> list[dict]:
    """Every version, newest first (read-only: the caller checks the table exists)."""
    cursor = con.execute(
        "select version_id, is_live, created_at, created_by, source, model_version, reason, changes "
        "from ops.scoring_versions order by number desc"
    )
    names = [d[0] for d in cursor.description]
    return [dict(zip(names, row, strict=True)) for row in cursor.fetchall()]


def set_promoted_model(con: duckdb.DuckDBPyConnection, model_version: str | None, at: datetime) -> None:
    """Make ``model_version`` the promoted model (none: no model), as a rollback or a pilot's
    promotion needs (``leadscore model promote`` checks a version's validation first)."""
    if con.execute(
        "select 1 from information_schema.tables where table_schema = 'ops' and table_name = 'model_versions'"
    ).fetchall():
        con.execute("update ops.model_versions set is_promoted = false where is_promoted")
        if model_version is not None:
            con.execute(
                "update ops.model_versions set is_promoted = true, promoted_at = ? where version_id = ?",
                [at, model_version],
            )


def write_seed_files(seeds_dir: Path, files: dict[str, str]) -> None:
    """Write seed files (name -> CSV text) into the live seeds folder, each replaced whole."""
    for seed, content in files.items():
        target = seeds_dir / f"{seed}.csv"
        tmp = target.with_suffix(".csv.tmp")
        tmp.write_text(content, encoding="utf-8")
        tmp.replace(target)


def rollback(
    con: duckdb.DuckDBPyConnection, seeds_dir: Path, version_id: str, reason: str, at: datetime
) -> dict:
    """Make ``version_id``'s configuration live again: its seed files written back, its model
    promoted (or none), and a new version recording the rollback. The next run scores as it did."""
    ensure_tables(con)
    known = con.execute(
        "select model_version from ops.scoring_versions where version_id = ?", [version_id]
    ).fetchall()
    if not known:
        versions = [
            r[0]
            for r in con.execute("select version_id from ops.scoring_versions order by number").fetchall()
        ]
        raise UserError(f"no scoring version {version_id!r}; known: {', '.join(versions) or 'none yet'}")
    model_version = known[0][0]
    files = version_files(con, version_id)
    if (
        model_version is not None
        and not con.execute(
            "select 1 from ops.model_versions where version_id = ?", [model_version]
        ).fetchall()
    ):
        raise UserError(
            f"{version_id} scored with model {model_version}, which is no longer in ops.model_versions"
        )
    write_seed_files(seeds_dir, files)
    set_promoted_model(con, model_version, at)
    version, _ = record(
        con, Configuration(files, model_version), f"rollback to {version_id}: {reason.strip()}", "rollback"
    )
    return {**version, "restored": version_id, "seeds": sorted(files), "model_version": model_version}
