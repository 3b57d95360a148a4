"""One writer at a time (lead_scoring.writer_lock): a second writer waits, names the holder,
gives up after LEADSCORE_LOCK_TIMEOUT_S, and goes on as soon as the first one is done."""

from __future__ import annotations

import os
import subprocess
import sys
import time

from lead_scoring import writer_lock

WAIT_AND_TAKE = (
    "import logging, sys; from pathlib import Path; from lead_scoring.writer_lock import holding\n"
    "logging.basicConfig(level=logging.INFO, format='%(message)s')\n"
    "with holding(Path(sys.argv[1]), 'second writer'):\n"
    "    print('took it')\n"
)


def second_writer(warehouse, timeout_s: str) -> subprocess.Popen:
    return subprocess.Popen(
        [sys.executable, "-c", WAIT_AND_TAKE, str(warehouse)],
        env={**os.environ, "LEADSCORE_LOCK_TIMEOUT_S": timeout_s},
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
    )


def test_a_second_run_gives_up_naming_the_holder_in_one_line(settings, monkeypatch):
    monkeypatch.setenv("LEADSCORE_LOCK_TIMEOUT_S", "1")
    with writer_lock.holding(settings.warehouse, "run cli_test_1"):
        done = subprocess.run(
            [sys.executable, "-m", "lead_scoring_dev.cli", "run", "--as-of", "2026-11-01T10:00"],
            capture_output=True,
            text=True,
            timeout=120,
        )
    assert done.returncode == 2, done.stderr
    assert f"the warehouse is in use by run cli_test_1 (PID {os.getpid()} on " in done.stderr
    assert "gave up after 1 s (LEADSCORE_LOCK_TIMEOUT_S)" in done.stderr
    assert "Traceback" not in done.stderr


def test_a_waiting_writer_goes_on_when_the_holder_is_done(settings):
    with writer_lock.holding(settings.warehouse, "first writer"):
        waiting = second_writer(settings.warehouse, "60")
        time.sleep(2)
        assert waiting.poll() is None  # still waiting while the first one writes
    out, err = waiting.communicate(timeout=60)
    assert waiting.returncode == 0, err
    assert out.strip() == "took it"
    assert "waiting for the warehouse, in use by first writer" in err


def test_the_lock_is_reentrant_in_a_process_and_free_after(settings):
    with writer_lock.holding(settings.warehouse, "outer"), writer_lock.holding(settings.warehouse, "stage"):
        pass
    done = second_writer(settings.warehouse, "0")
    out, err = done.communicate(timeout=60)
    assert done.returncode == 0 and out.strip() == "took it", err


def test_a_killed_holder_leaves_no_lock_behind(settings):
    holder = subprocess.Popen(
        [sys.executable, "-c", WAIT_AND_TAKE.replace("print('took it')", "import time; time.sleep(60)"),
         str(settings.warehouse)],
    )  # fmt: skip
    deadline = time.monotonic() + 30
    while not writer_lock.lock_path(settings.warehouse).exists() or not (
        writer_lock.lock_path(settings.warehouse).read_text()
    ):
        assert time.monotonic() < deadline
        time.sleep(0.1)
    holder.kill()
    holder.wait()
    out, err = second_writer(settings.warehouse, "5").communicate(timeout=60)
    assert out.strip() == "took it", err
