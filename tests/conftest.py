"""Shared fixtures: an isolated LEADSCORE_HOME-like layout per test session/test."""

from __future__ import annotations

import os
import sys

import pytest

from tests.support import REPO, isolated_env

os.environ.setdefault("GX_ANALYTICS_ENABLED", "false")
os.environ.setdefault("DBT_SEND_ANONYMOUS_USAGE_STATS", "false")
os.environ.setdefault("AIRFLOW__COSMOS__ENABLE_TELEMETRY", "False")

# Under pytest-xdist (make test runs three workers), each worker gets its own dbt target and
# log folders: dbt's partial-parse state, compiled SQL and run results are not shared state.
if os.environ.get("PYTEST_XDIST_WORKER"):
    # An xdist worker's __main__ has neither __spec__ nor __file__; pyspark (installed by
    # `make test-engines`, imported by GX) then takes the process for a doctest run and
    # calls sys.exit(0) on import.
    _main = sys.modules["__main__"]
    if getattr(_main, "__spec__", None) is None and not hasattr(_main, "__file__"):
        _main.__file__ = "<pytest-xdist worker>"
    _worker_dir = REPO / "var" / "pytest" / os.environ["PYTEST_XDIST_WORKER"]
    _worker_dir.mkdir(parents=True, exist_ok=True)
    os.environ.setdefault("DBT_TARGET_PATH", str(_worker_dir / "dbt_target"))
    os.environ.setdefault("DBT_LOG_PATH", str(_worker_dir / "dbt_logs"))


@pytest.fixture
def settings(tmp_path, monkeypatch):
    """Settings whose writable paths live in the test's tmp_path."""
    from lead_scoring.config import load_settings

    isolated_env(tmp_path, monkeypatch)
    for key in ("LEADSCORE_CRM_SOURCE", "LEADSCORE_DRY_RUN", "LEADSCORE_SF_INSTANCE_URL"):
        monkeypatch.delenv(key, raising=False)
    return load_settings()


# The files that take longest, longest first (summed --durations of a fresh-clone `make test`,
# 2026-12-06: the multi-hour e2e files about 130-190 s each, the rest under 100 s). With
# `--dist loadfile --no-loadscope-reorder`, xdist hands out files in collection order, so the
# long files start first and the short ones fill the gaps, instead of two long files meeting
# on the same worker at the end (that made `make test` take 12.5 instead of 7.5 minutes when
# each Airflow run took 230-350 s).
LONGEST_FIRST = (
    "test_dags.py",
    "test_routing_across_hours.py",
    "test_scoring_runs.py",
    "test_extract_gaps.py",
    "test_airflow_standalone.py",
    "test_predictive_model.py",
    "test_routing_properties.py",
    "test_incremental_activities.py",
    "test_backtest.py",
    "test_handoff_tasks.py",
    "test_write_back.py",
    "test_scoring_models.py",
)


def pytest_collection_modifyitems(config, items):
    def rank(item):
        name = item.path.name
        return LONGEST_FIRST.index(name) if name in LONGEST_FIRST else len(LONGEST_FIRST)

    items.sort(key=rank)  # stable: the order inside a file and among the others is kept
