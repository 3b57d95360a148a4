"""What several test files share: the repository root and an isolated settings layout."""

from __future__ import annotations

from pathlib import Path

import pytest

REPO = Path(__file__).resolve().parents[1]


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
