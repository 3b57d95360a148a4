"""The seeds are loaded, with their data tests, only when they changed (lead_scoring/seed_build.py):
real dbt on a copy of the project and an empty warehouse."""

from __future__ import annotations

import shutil
from dataclasses import replace
from datetime import datetime

import duckdb
import pytest

from lead_scoring import seed_build
from lead_scoring.config import load_settings
from lead_scoring.dbt_runner import DbtBuildError
from lead_scoring.run_context import RunContext

AS_OF = datetime(2026, 11, 1, 10, 0)


def query(settings, sql: str) -> list[tuple]:
    con = duckdb.connect(str(settings.warehouse))
    try:
        return con.execute(sql).fetchall()
    finally:
        con.close()


@pytest.fixture
def settings(tmp_path):
    base = load_settings()
    project = tmp_path / "dbt_project"
    shutil.copytree(base.dbt_project_dir, project, ignore=shutil.ignore_patterns("target", "logs"))
    return replace(base, dbt_project_dir=project, warehouse=tmp_path / "warehouse" / "lead_scoring.duckdb")


def build(settings, run: str) -> dict:
    return seed_build.build_if_changed(RunContext(run, AS_OF, settings))


def test_seeds_load_only_when_new_edited_missing_or_their_tests_failed(settings):
    seeds = sorted(path.stem for path in (settings.dbt_project_dir / "seeds").glob("*.csv"))

    first = build(settings, "first")
    assert first["seeds"] == "built" and first["reason"] == "never loaded into this warehouse"
    tested = first["nodes"] - len(seeds)
    assert tested > 0  # the seeds' data tests ran with them
    loaded = {
        name
        for (name,) in query(
            settings, "select table_name from information_schema.tables where table_schema = 'seeds'"
        )
    }
    assert set(seeds) <= loaded

    # nothing changed: no dbt call, nothing recorded
    assert build(settings, "second") == {"seeds": "unchanged", "nodes": 0}
    assert query(settings, "select run_id from ops.seed_builds") == [("first",)]

    # an edited CSV is loaded by the next run
    signals = settings.dbt_project_dir / "seeds" / "intent_signals.csv"
    before = query(settings, "select points from seeds.intent_signals where signal_id = 'demo_request'")[0][0]
    header, *lines = signals.read_text().splitlines()
    points = header.split(",").index("points")
    edited = []
    for line in lines:
        cells = line.split(",")
        if cells[0] == "demo_request":
            cells[points] = str(int(float(cells[points])) + 7)
        edited.append(",".join(cells))
    signals.write_text("\n".join([header, *edited]) + "\n")
    third = build(settings, "third")
    assert third["seeds"] == "built" and "changed" in third["reason"]
    assert query(settings, "select points from seeds.intent_signals where signal_id = 'demo_request'") == [
        (before + 7,)
    ]

    # a seed table dropped from the warehouse is loaded again, the reason naming it
    query(settings, "drop table seeds.title_patterns")
    fourth = build(settings, "fourth")
    assert fourth["reason"] == "missing from the seeds schema: title_patterns"
    assert query(settings, "select count(*) from seeds.title_patterns")[0][0] > 0
    assert build(settings, "fifth")["seeds"] == "unchanged"

    # a failing seed test stops the run, and every run loads them until they pass
    text = signals.read_text()
    duplicate = next(line for line in text.splitlines()[1:] if line.startswith("demo_request,"))
    signals.write_text(text.rstrip("\n") + "\n" + duplicate + "\n")  # signal_id is unique

    with pytest.raises(DbtBuildError, match="intent_signals"):
        build(settings, "broken")
    # the load replaced the table before its test failed: the next run loads again, even
    # with the files back as the last load that passed had them
    signals.write_text(text)
    fixed = build(settings, "fixed")
    assert fixed["seeds"] == "built"
    assert fixed["reason"] == "their last load (run broken) did not finish with its tests passed"
    demo_requests = "select count(*) from seeds.intent_signals where signal_id = 'demo_request'"
    assert query(settings, demo_requests) == [(1,)]
    assert query(settings, "select run_id, passed from ops.seed_builds order by started_at") == [
        ("first", True),
        ("third", True),
        ("fourth", True),
        ("broken", False),
        ("fixed", True),
    ]
    assert build(settings, "after")["seeds"] == "unchanged"
