"""Scoring versions: recorded with a reason and a change summary, recorded by the run when
nobody did, rolled back byte for byte with the model they scored with."""

from __future__ import annotations

import re
import shutil
from datetime import datetime
from pathlib import Path

import duckdb
import pytest

from lead_scoring.cli import main
from lead_scoring.config import UserError
from lead_scoring.versions import store

REPO = Path(__file__).resolve().parents[2]
AT = datetime(2026, 11, 1, 10)


@pytest.fixture
def seeds(tmp_path) -> Path:
    folder = tmp_path / "seeds"
    folder.mkdir()
    for name in store.SCORING_SEEDS:
        shutil.copy(REPO / "dbt_project" / "seeds" / f"{name}.csv", folder)
    return folder


@pytest.fixture
def con(tmp_path):
    connection = duckdb.connect(str(tmp_path / "w.duckdb"))
    connection.execute("create schema ops")
    connection.execute(
        "create table ops.model_versions (version_id varchar, is_promoted boolean, promoted_at timestamp)"
    )
    connection.execute("insert into ops.model_versions values ('m1', false, null), ('m2', false, null)")
    yield connection
    connection.close()


def edit(path: Path, old: str, new: str) -> None:
    text = path.read_text()
    assert old in text
    path.write_text(text.replace(old, new))


def test_the_scoring_seeds_are_those_the_version_hash_covers():
    sql = (REPO / "dbt_project/models/intermediate/scoring/int_scoring_model_versioned.sql").read_text()
    hashed = re.findall(r"'(\w+)': \[", sql.split("-%}")[0])
    assert hashed == list(store.SCORING_SEEDS)


def test_a_change_is_recorded_with_its_reason_and_what_it_moved(con, seeds):
    first, recorded = store.record_if_changed(con, seeds, "run r0")
    assert (first["version_id"], recorded) == ("v1", True)
    assert store.record_if_changed(con, seeds, "run r1") == (first, False)  # nothing changed

    edit(seeds / "fit_rules.csv", ",Software,,,20,", ",Software,,,25,")
    edit(seeds / "scoring_parameters.csv", "tier1_threshold,60,", "tier1_threshold,65,")
    with (seeds / "negative_rules.csv").open("a") as handle:
        handle.write("competitor_acme,email_domain,acme.example,-50,false\n")
    con.execute("update ops.model_versions set is_promoted = true where version_id = 'm2'")
    with pytest.raises(UserError, match="needs a reason"):
        store.record(con, store.current_configuration(seeds, con), "  ", "recorded")
    second, _ = store.record(con, store.current_configuration(seeds, con), "Q4 review", "recorded", "ann")
    assert second["version_id"] == "v2" and second["model_version"] == "m2"
    rows = store.list_versions(con)
    assert [(r["version_id"], r["is_live"], r["created_by"], r["reason"]) for r in rows] == [
        ("v2", True, "ann", "Q4 review"),
        ("v1", False, "run r0", "the configuration the first scored run used"),
    ]
    assert rows[0]["changes"] == (
        "fit_rules: industry_software: points 20 → 25 | negative_rules: +competitor_acme"
        " | scoring_parameters: tier1_threshold: value 60 → 65 | model none → m2"
    )


def test_a_configuration_nobody_recorded_is_recorded_by_the_run_that_uses_it(con, seeds, caplog):
    store.record_if_changed(con, seeds, "run r0")
    edit(seeds / "fit_rules.csv", ",Software,,,20,", ",Software,,,30,")
    version, recorded = store.record_if_changed(con, seeds, "run r2")
    assert recorded and version["version_id"] == "v2"
    assert store.list_versions(con)[0]["reason"] == store.UNRECORDED_REASON
    assert "leadscore versions record --reason" in caplog.text
    # a file re-saved with its rows unchanged is a version too (a rollback restores the bytes)
    with (seeds / "fit_rules.csv").open("a") as handle:
        handle.write("\n")
    assert store.record_if_changed(con, seeds, "run r3")[0]["version_id"] == "v3"
    assert store.list_versions(con)[0]["changes"] == "no change in the rows (formatting only)"


def test_rollback_writes_the_seeds_back_byte_for_byte_and_promotes_its_model(con, seeds):
    con.execute("update ops.model_versions set is_promoted = true where version_id = 'm1'")
    original = {p.name: p.read_bytes() for p in seeds.iterdir()}
    store.record_if_changed(con, seeds, "run r0")
    edit(seeds / "fit_rules.csv", ",Software,,,20,", ",Software,,,25,")
    con.execute("update ops.model_versions set is_promoted = (version_id = 'm2')")
    store.record(con, store.current_configuration(seeds, con), "try m2", "recorded")

    result = store.rollback(con, seeds, "v1", "m2 did worse", AT)
    assert (result["version_id"], result["restored"], result["model_version"]) == ("v3", "v1", "m1")
    assert {p.name: p.read_bytes() for p in seeds.iterdir()} == original
    assert con.execute("select version_id from ops.model_versions where is_promoted").fetchall() == [("m1",)]
    live = store.list_versions(con)[0]
    assert (live["version_id"], live["source"], live["reason"]) == (
        "v3",
        "rollback",
        "rollback to v1: m2 did worse",
    )
    assert live["changes"] == "fit_rules: industry_software: points 25 → 20 | model m2 → m1"
    with pytest.raises(UserError, match="no scoring version 'v9'; known: v1, v2, v3"):
        store.rollback(con, seeds, "v9", "x", AT)


def test_the_commands_list_record_and_roll_back(settings, seeds, monkeypatch, capsys):
    from lead_scoring import warehouse

    monkeypatch.setenv("LEADSCORE_DBT_PROJECT", str(seeds.parent))  # a rollback writes seeds
    settings.warehouse.parent.mkdir(parents=True, exist_ok=True)
    with warehouse.connect(settings.warehouse) as con:
        warehouse.ensure_schema(con)
    assert main(["versions"]) == 0
    assert "no scoring version yet" in capsys.readouterr().out
    assert main(["versions", "record"]) == 2
    assert "needs a reason" in capsys.readouterr().err
    assert main(["versions", "record", "--reason", "baseline"]) == 0
    assert "scoring version v1 recorded" in capsys.readouterr().out
    assert main(["versions", "record", "--reason", "again"]) == 0
    assert "nothing changed since v1" in capsys.readouterr().out
    edit(seeds / "fit_rules.csv", ",Software,,,20,", ",Software,,,25,")  # edited, not recorded
    assert main(["rollback", "v1", "--reason", "undo my edit"]) == 0
    assert "v1 is live; its 8 scoring seeds written back" in capsys.readouterr().out
    assert ",Software,,,20," in (seeds / "fit_rules.csv").read_text()
    assert main(["versions"]) == 0
    out = capsys.readouterr().out
    assert out.startswith("version    created") and "v1 (live)" in out and "v1: first version" in out


def test_a_shadow_takes_only_scoring_seeds_one_at_a_time(con, seeds, tmp_path):
    from lead_scoring.versions import shadow

    with pytest.raises(UserError, match="not a folder"):
        shadow.start(con, tmp_path / "nope", "x", AT)
    routing = tmp_path / "routing"
    routing.mkdir()
    (routing / "routing_reps.csv").write_text("rep_id\n")
    with pytest.raises(UserError, match="routing_reps.csv is not a scoring seed"):
        shadow.start(con, routing, "x", AT)
    with pytest.raises(UserError, match="needs a reason"):
        shadow.start(con, seeds, " ", AT)
    assert shadow.start(con, seeds, "try", AT)["shadow_id"] == "s1"
    with pytest.raises(UserError, match="shadow s1 is active"):
        shadow.start(con, seeds, "again", AT)
    assert shadow.status(con)["compared"] is False


def test_shadow_status_counts_the_tier_moves_and_lists_the_largest(con, seeds):
    from lead_scoring.versions import shadow
    from lead_scoring.versions.cli import shadow_text

    shadow.start(con, seeds, "Software converts 1.5x", AT)
    con.execute("create schema marts")
    con.execute(
        "create table marts.lead_scores_shadow as select * from (values "
        "('00Q1', 'Lead', 58.0, 62.0, 2, 1, 'a', 'b', 'v', 's1', timestamp '2026-11-01 10:00'), "
        "('00Q2', 'Lead', 30.0, 30.0, 3, 3, 'c', 'c', 'v', 's1', timestamp '2026-11-01 10:00'), "
        "('00Q3', 'Lead', 39.0, 40.0, 3, 2, 'd', 'e', 'v', 's1', timestamp '2026-11-01 10:00')) as t(crm_id, "
        "crm_object, champion_score, challenger_score, champion_tier, challenger_tier, champion_reasons, "
        "challenger_reasons, challenger_version, shadow_id, scored_at)"
    )
    status = shadow.status(con, limit=1)
    assert (status["people"], status["tier_changes"]) == (3, 2)
    assert status["tier_moves"] == [
        {"from_tier": 2, "to_tier": 1, "people": 1},
        {"from_tier": 3, "to_tier": 2, "people": 1},
    ]
    assert [r["crm_id"] for r in status["largest_moves"]] == ["00Q1"]
    text = shadow_text(status)
    assert "3 people, 2 would change tier, mean score change +1.67" in text
    assert "00Q1: 58 → 62 (tier 2 → 1)\n  champion:   a\n  challenger: b" in text
