"""One CLI voice: every command refuses bad input in a line (no traceback), every option says
what it does, results read as text by default and parse as JSON with --json."""

from __future__ import annotations

import argparse
import json

import pytest

from lead_scoring import text_output, warehouse
from lead_scoring_dev.cli import build_parser, main

BAD_INSTANT = "05/12/2026 10:00"

# One bad input per command (each leaf of the parser), and what the error must name.
BAD_INPUT = {
    "generate": (["generate", "--leads", "0"], "'0' is not a whole number >= 1"),
    "sandbox serve": (["sandbox", "serve", "--port", "70000"], "'70000' is not a port"),
    "sandbox stop": (["sandbox", "stop", "now"], "unrecognized arguments: now"),
    "sandbox status": (["sandbox", "status", "--all"], "unrecognized arguments: --all"),
    "sandbox soql": (
        ["sandbox", "soql", "SELECT Id FROM Lead", "--limit", "-3"],
        "'-3' is not a whole number",
    ),
    "sandbox load": (["sandbox", "load", "/nonexistent/crm"], "/nonexistent/crm"),
    "demo": (["demo", "--days", "-5"], "'-5' is not a whole number >= 1"),
    "bench": (["bench", "--scale", "XL"], "invalid choice: 'XL'"),
    "erase": (["erase", "--file", "/nonexistent/erase.csv"], "/nonexistent/erase.csv"),
    "report": (["report", "--build", "--as-of", BAD_INSTANT], "is not an ISO-8601 instant"),
    "backtest": (["backtest", "--candidate-vars", "{intent_weight: 0.6"], "is not a JSON object"),
    "model train": (["model", "train", "--days", "zero"], "'zero' is not a whole number >= 1"),
    "model list": (["model", "list", "--all"], "unrecognized arguments: --all"),
    "model promote": (["model", "promote", "m_nope"], "no warehouse at"),
    "versions": (["versions", "--limit", "-1"], "'-1' is not a whole number >= 0"),
    "rollback": (["rollback", "v1"], "the following arguments are required: --reason"),
    "shadow": (["shadow", "begin"], "invalid choice: 'begin'"),
    "pilot": (["pilot", "start", "--candidate-seeds", "x", "--share", "1.5", "--reason", "r"], "--share 1.5"),
    "run": (["run", "--run-id", "../.."], "run id '../..' names no folder"),
    "fast-lane": (["fast-lane", "--as-of", BAD_INSTANT], "is not an ISO-8601 instant"),
    "sync": (["sync", "sideways"], "invalid choice: 'sideways'"),
    "sla-monitor": (["sla-monitor", "--as-of", BAD_INSTANT], "is not an ISO-8601 instant"),
    "status": (["status", "--runs", "0"], "'0' is not a whole number >= 1"),
    "explain": (["explain"], "the following arguments are required: crm_id"),
    "changes": (["changes", "--limit", "-1"], "'-1' is not a whole number >= 0"),
    "summary": (["summary", "--run-id", "/"], "run id '/' names no folder"),
    "airflow": (["airflow", "--port", "http"], "'http' is not a whole number"),
}


def leaves(parser: argparse.ArgumentParser, path: tuple[str, ...] = ()):
    """(command path, parser) of every command that runs (no sub-commands of its own)."""
    subs = [a for a in parser._actions if isinstance(a, argparse._SubParsersAction)]
    if not subs:
        yield " ".join(path), parser
        return
    for name, sub in subs[0].choices.items():
        yield from leaves(sub, (*path, name))


def test_every_command_has_a_bad_input_case():
    assert {name for name, _ in leaves(build_parser())} == set(BAD_INPUT)


@pytest.mark.parametrize("command", sorted(BAD_INPUT))
def test_bad_input_gets_one_line_naming_it_and_no_traceback(command, settings, capsys):
    argv, named = BAD_INPUT[command]
    try:
        code = main(argv)
    except SystemExit as exit_:  # argparse's usage error
        code = exit_.code
    err = capsys.readouterr().err
    assert code in (1, 2), err
    assert "Traceback" not in err
    assert named in err
    last = err.strip().splitlines()[-1]
    assert named in last or named in err.strip().splitlines()[-2], err
    assert not settings.warehouse.exists()  # nothing was created on the way


def test_every_option_says_what_it_does():
    missing = [
        f"{name}: {action.option_strings or action.dest}"
        for name, parser in leaves(build_parser())
        for action in parser._actions
        if not isinstance(action, argparse._HelpAction) and not action.help
    ]
    assert missing == []


def test_text_reads_as_aligned_lines_and_tables():
    result = {
        "objects": {"Lead": {"records": 4538, "pending": 0}, "Contact": {"records": 12, "pending": 3}},
        "last_run": {"run_id": "r1", "written": 7851, "share": 0.123456},
        "auc": 0.78391234567,
        "errors": [],
        "note": None,
    }
    assert text_output.as_text(result).splitlines() == [
        "objects:",
        "           records  pending",
        "  Lead       4,538        0",
        "  Contact       12        3",
        "last_run  run_id r1, written 7,851, share 0.123",
        "auc       0.784",
        "errors    -",
        "note      -",
    ]


def test_json_rounds_floats_and_has_no_nan():
    parsed = json.loads(text_output.as_json({"auc": 0.78391234567, "lift": float("nan"), "at": [1.0 / 3]}))
    assert parsed == {"auc": 0.7839, "lift": None, "at": [0.3333]}


def test_status_prints_text_by_default_and_json_on_request(settings, capsys):
    with warehouse.connect(settings.warehouse) as con:
        warehouse.ensure_schema(con)
        con.execute(
            "insert into ops.runs values ('r1', '2026-12-05 10:00', 'failed', ?, null, '2026-12-05 10:01')",
            [json.dumps({"failed_stage": "dbt_build", "error": "boom", "fix": "see the log"})],
        )
    assert main(["status"]) == 0
    text = capsys.readouterr().out
    assert text.startswith("recent runs:\n  run_id")
    assert "  r1 failed in dbt_build: boom\n    fix: see the log" in text
    assert main(["status", "--json"]) == 0
    status = json.loads(capsys.readouterr().out)
    assert status["recent_runs"][0]["failed_stage"] == "dbt_build"
