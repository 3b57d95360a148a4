"""The A/B pilot's commands and assignment on a small warehouse (the real runs are in
tests/e2e/test_pilot.py): bad inputs refused in a line, one challenger at a time, arms
assigned once by the hash (shared by records of one person), `--population new` leaving out
the people scored before the start, and `stop --promote` making the challenger a version."""

from __future__ import annotations

from datetime import timedelta

import pytest

from lead_scoring.config import UserError
from lead_scoring.versions import pilot, shadow, store
from tests.unit.test_versions import AT, con, seeds  # noqa: F401 - fixtures

OPTIONS = {"share": 0.2, "population": "new", "min_days": 14, "alpha": 0.05, "power": 0.8, "min_lift": 0.2}


def candidate(tmp_path, seeds_dir):  # noqa: F811
    folder = tmp_path / "candidate"
    folder.mkdir()
    text = (seeds_dir / "fit_rules.csv").read_text()
    (folder / "fit_rules.csv").write_text(text.replace("Software,,,20,", "Software,,,40,"))
    return folder


def start(con, live, **changes):  # noqa: F811
    args = {**OPTIONS, "seeds_dir": None, "model_version": None, "reason": "try", "at": AT, **changes}
    return pilot.start(con, live, **args)


def test_bad_pilots_are_refused_in_a_line(con, seeds, tmp_path):  # noqa: F811
    challenger = candidate(tmp_path, seeds)
    cases = [
        ({}, "one challenger"),
        ({"seeds_dir": challenger, "model_version": "m1"}, "one challenger"),
        ({"seeds_dir": seeds}, "equals the live one"),
        ({"model_version": "m9"}, "--candidate-model m9: no such version"),
        ({"seeds_dir": challenger, "share": 1.0}, "--share 1"),
        ({"seeds_dir": challenger, "alpha": 0.7}, "--alpha 0.7"),
        ({"seeds_dir": challenger, "power": 0.3}, "--power 0.3"),
        ({"seeds_dir": challenger, "reason": " "}, "needs a reason"),
        ({"seeds_dir": challenger, "population": "old"}, "--population old"),
    ]
    for changes, message in cases:
        with pytest.raises(UserError, match=message):
            start(con, seeds, **changes)
    con.execute("update ops.model_versions set is_promoted = true where version_id = 'm2'")
    with pytest.raises(UserError, match="m2 is the promoted model"):
        start(con, seeds, model_version="m2")


def test_one_challenger_at_a_time(con, seeds, tmp_path):  # noqa: F811
    challenger = candidate(tmp_path, seeds)
    shadow.start(con, challenger, "shadow first", AT)
    with pytest.raises(UserError, match="shadow s1 is active"):
        start(con, seeds, seeds_dir=challenger)
    shadow.stop(con, AT)
    assert start(con, seeds, model_version="m1")["pilot_id"] == "p1"
    with pytest.raises(UserError, match="pilot p1 is active"):
        start(con, seeds, seeds_dir=challenger)
    with pytest.raises(UserError, match="pilot p1 is active"):
        shadow.start(con, challenger, "beside a pilot", AT)


def test_arms_are_assigned_once_and_new_means_after_the_start(con, seeds, tmp_path):  # noqa: F811
    con.execute("create schema marts")
    con.execute(
        "create table marts.lead_scores as select 'old' || i as crm_id, 'old' || i as person_key, "
        "timestamp '2026-11-01 10:00' as scored_at from range(50) as t(i)"
    )
    result = start(con, seeds, seeds_dir=candidate(tmp_path, seeds))
    assert result["people_before_pilot"] == 50
    # the challenger's scores: the 50 known people, 2,000 new ones, and a second record of new7
    con.execute("create schema pilot_marts")
    con.execute(
        "create table pilot_marts.lead_scores as select crm_id, person_key from marts.lead_scores "
        "union all select 'new' || i, 'new' || i from range(2000) as t(i) union all select 'dup7', 'new7'"
    )
    running = pilot.active(con)
    assert pilot.assign(con, running, AT + timedelta(hours=1)) == 2001
    assert pilot.assign(con, running, AT + timedelta(hours=2)) == 0  # a re-run assigns nothing
    arms = dict(con.execute("select crm_id, arm from ops.pilot_assignments").fetchall())
    assert {arms[f"old{i}"] for i in range(50)} == {"before_pilot"}
    assert all(arms[f"new{i}"] == pilot.arm_of("p1", f"new{i}", 0.2) for i in range(2000))
    assert arms["dup7"] == arms["new7"]
    share = sum(arms[f"new{i}"] == "challenger" for i in range(2000)) / 2000
    assert abs(share - 0.2) < 0.03, share


def test_stop_promote_makes_the_challengers_seeds_a_version(con, seeds, tmp_path):  # noqa: F811
    challenger = candidate(tmp_path, seeds)
    store.record(con, store.current_configuration(seeds, con), "first", "recorded")
    start(con, seeds, seeds_dir=challenger)
    with pytest.raises(UserError, match="needs a reason"):
        pilot.stop(con, seeds, True, "", AT)
    stopped = pilot.stop(con, seeds, True, "challenger better", AT)
    assert stopped["promoted_version"] == "v2"
    assert (seeds / "fit_rules.csv").read_text() == (challenger / "fit_rules.csv").read_text()
    live = store.live_version(con)
    assert live["version_id"] == "v2"
    assert "industry_software: points 20 → 40" in store.list_versions(con)[0]["changes"]
    assert pilot.status(con)["active"] is False
    with pytest.raises(UserError, match="no pilot is active"):
        pilot.stop(con, seeds, False, "again", AT)


def test_stop_promote_of_a_model_challenger_promotes_it(con, seeds):  # noqa: F811
    start(con, seeds, model_version="m1")
    assert pilot.stop(con, seeds, True, "the model converts better", AT)["promoted_version"] == "v1"
    assert con.execute("select version_id from ops.model_versions where is_promoted").fetchall() == [("m1",)]
    assert store.live_version(con)["model_version"] == "m1"
