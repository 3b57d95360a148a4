"""Shared fixtures: an isolated LEADSCORE_HOME-like layout per test session/test."""

from __future__ import annotations

import os
from pathlib import Path

import pytest

REPO = Path(__file__).resolve().parents[1]

os.environ.setdefault("GX_ANALYTICS_ENABLED", "false")
os.environ.setdefault("DBT_SEND_ANONYMOUS_USAGE_STATS", "false")
os.environ.setdefault("AIRFLOW__COSMOS__ENABLE_TELEMETRY", "False")


def isolated_env(root: Path, monkeypatch: pytest.MonkeyPatch | None = None) -> dict[str, str]:
    """Settings pointing every writable path under ``root`` (code stays in the repo)."""
    env = {
        "LEADSCORE_HOME": str(REPO),
        "LEADSCORE_WAREHOUSE": str(root / "warehouse" / "lead_scoring.duckdb"),
        "LEADSCORE_LANDING": str(root / "landing"),
        "LEADSCORE_RUNS": str(root / "runs"),
        "LEADSCORE_VAR": str(root / "var"),
        "LEADSCORE_SANDBOX_DIR": str(root / "var" / "sandbox"),
    }
    if monkeypatch is not None:
        for key, value in env.items():
            monkeypatch.setenv(key, value)
    return env


@pytest.fixture
def settings(tmp_path, monkeypatch):
    """Settings whose writable paths live in the test's tmp_path."""
    from lead_scoring.config import load_settings

    isolated_env(tmp_path, monkeypatch)
    for key in ("LEADSCORE_CRM_SOURCE", "LEADSCORE_DRY_RUN", "LEADSCORE_SF_INSTANCE_URL"):
        monkeypatch.delenv(key, raising=False)
    return load_settings()
