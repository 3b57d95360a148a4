"""Ordinary mistakes get one line that names the value and what to do, never a traceback:
bad instants, bad settings, a missing or empty warehouse, a report with nothing to show."""

from __future__ import annotations

import subprocess
import sys

import pytest

from lead_scoring import warehouse
from lead_scoring_dev.cli import main

BAD_INSTANT = "05/12/2026 10:00"


def empty_warehouse(settings) -> None:
    """A warehouse with its raw and ops tables and nothing loaded or scored."""
    with warehouse.connect(settings.warehouse) as con:
        warehouse.ensure_schema(con)


@pytest.mark.parametrize(
    "argv",
    [
        ["run", "--as-of", BAD_INSTANT],
        ["sync", "--as-of", BAD_INSTANT],
        ["sla-monitor", "--as-of", BAD_INSTANT],
        ["report", "--build", "--as-of", BAD_INSTANT],
        ["backtest", "--end", BAD_INSTANT],
        ["backtest", "--win-analysis-as-of", BAD_INSTANT],
    ],
)
def test_a_bad_instant_is_a_usage_error_naming_the_value_and_the_form(argv, settings, capsys):
    with pytest.raises(SystemExit) as exit_:
        main(argv)
    err = capsys.readouterr().err
    assert exit_.value.code == 2
    assert f"'{BAD_INSTANT}' is not an ISO-8601 instant in UTC, e.g. 2026-12-05T10:00" in err
    assert "Traceback" not in err


@pytest.mark.parametrize(
    "argv",
    [
        ["status"],
        ["sync", "status"],
        ["sync"],
        ["report"],
        ["report", "--build"],
        ["backtest"],
        ["changes"],
        ["explain", "00Q000000000001AAA"],
    ],
)
def test_commands_on_a_missing_warehouse_say_what_to_run_and_create_nothing(argv, settings, capsys):
    assert main(argv) == 2
    err = capsys.readouterr().err
    assert f"no warehouse at {settings.warehouse}: run `make demo` or `leadscore run` first" in err
    assert not settings.warehouse.exists()


def test_commands_on_an_empty_warehouse_say_what_to_run_first(settings, capsys):
    empty_warehouse(settings)
    assert main(["backtest"]) == 2
    assert "no CRM Leads in" in capsys.readouterr().err
    assert main(["sync"]) == 2
    assert "has no scores yet" in capsys.readouterr().err
    for argv in (["changes"], ["explain", "00Q000000000001AAA"]):
        assert main(argv) == 2
        assert "has no scores yet" in capsys.readouterr().err


def test_the_report_is_not_replaced_by_an_empty_one(settings, capsys):
    from lead_scoring.reporting.weekly import report_path

    empty_warehouse(settings)
    report = report_path(settings)
    report.parent.mkdir(parents=True, exist_ok=True)
    report.write_text("last week's report")
    assert main(["report"]) == 2
    assert "run `leadscore report --build`" in capsys.readouterr().err
    assert report.read_text() == "last week's report"


@pytest.mark.parametrize(
    ("variable", "value", "expected"),
    [
        ("LEADSCORE_CRM_SOURCE", "nonsense", "LEADSCORE_CRM_SOURCE='nonsense'; use 'salesforce' or 'files'"),
        ("LEADSCORE_DRY_RUN", "maybe", "LEADSCORE_DRY_RUN='maybe' is not a boolean"),
        ("LEADSCORE_SANDBOX_PORT", "eighty", "LEADSCORE_SANDBOX_PORT='eighty'; use a whole number"),
    ],
)
def test_a_bad_setting_is_one_line_even_for_status(variable, value, expected, settings, monkeypatch, capsys):
    monkeypatch.setenv(variable, value)
    assert main(["status"]) == 2
    err = capsys.readouterr().err
    assert expected in err and "Traceback" not in err


def test_an_unexpected_error_is_one_line_and_verbose_shows_the_traceback(settings, monkeypatch, capsys):
    from lead_scoring import status

    def broken(*_args, **_kwargs):
        raise RuntimeError("the status query broke\nsecond line")

    empty_warehouse(settings)
    monkeypatch.setattr(status, "overall_status", broken)
    assert main(["status"]) == 1
    err = capsys.readouterr().err
    assert "leadscore status: RuntimeError: the status query broke (leadscore -v status" in err
    assert "second line" not in err and "Traceback" not in err
    with pytest.raises(RuntimeError):
        main(["-v", "status"])


def test_the_installed_command_prints_no_traceback(settings):
    done = subprocess.run(
        [sys.executable, "-m", "lead_scoring_dev.cli", "run", "--as-of", BAD_INSTANT],
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert done.returncode == 2
    assert "is not an ISO-8601 instant" in done.stderr and "Traceback" not in done.stderr


@pytest.mark.parametrize("argv", [["status"], ["sync", "status"], ["explain", "00Q000000000001AAA"]])
def test_a_read_only_command_during_a_run_names_the_writer_and_stops(argv, settings):
    """While another process writes the warehouse (here: this one), a read-only command says
    who holds it in one line instead of failing on DuckDB's lock."""
    import os

    empty_warehouse(settings)
    with warehouse.connect(settings.warehouse):
        done = subprocess.run(
            [sys.executable, "-m", "lead_scoring_dev.cli", *argv], capture_output=True, text=True, timeout=120
        )
    assert done.returncode == 2, done.stderr
    assert f"is being written by another process (PID {os.getpid()}): a run in progress?" in done.stderr
    assert "Traceback" not in done.stderr
