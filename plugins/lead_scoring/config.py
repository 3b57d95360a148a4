"""Settings, read from environment variables with defaults that run the embedded demo.

Every setting is documented in docs/operations.md ("Configuration"). Paths are resolved against
``LEADSCORE_HOME`` (default: the repository root).
"""

from __future__ import annotations

import os
from dataclasses import dataclass
from pathlib import Path

_REPO_ROOT = Path(__file__).resolve().parents[2]


class UserError(Exception):
    """A mistake the user can fix (a setting, an argument, a missing first step): the CLI
    prints its message on one line, without a traceback."""


class SettingsError(UserError, ValueError):
    """A ``LEADSCORE_*`` setting has a value it cannot take."""


def _env(name: str, default: str) -> str:
    value = os.environ.get(name)
    return value if value not in (None, "") else default


def _bool(name: str, default: bool) -> bool:
    raw = os.environ.get(name)
    if raw in (None, ""):
        return default
    if raw.lower() in {"1", "true", "yes", "on"}:
        return True
    if raw.lower() in {"0", "false", "no", "off"}:
        return False
    raise SettingsError(f"{name}={raw!r} is not a boolean; use true or false")


@dataclass(frozen=True)
class Settings:
    home: Path
    warehouse: Path
    landing: Path
    runs_dir: Path
    var_dir: Path
    dbt_project_dir: Path
    expectations_dir: Path
    crm_source: str
    dry_run: bool
    sandbox_dir: Path
    sandbox_port: int
    model_retrain_days: int = 7  # the weekly DAG retrains when the newest version is older

    @property
    def extracts_dir(self) -> Path:
        return self.var_dir / "extracts"

    @property
    def dbt_profiles_dir(self) -> Path:
        return self.dbt_project_dir

    @property
    def map_landing(self) -> Path:
        return self.landing / "map"

    @property
    def crm_landing(self) -> Path:
        return self.landing / "crm"


def _int(name: str, default: int) -> int:
    raw = _env(name, str(default))
    try:
        return int(raw)
    except ValueError:
        raise SettingsError(f"{name}={raw!r}; use a whole number (default {default})") from None


def load_settings() -> Settings:
    """Read the settings now (not at import time), so tests and tasks can set the env first."""
    home = Path(_env("LEADSCORE_HOME", str(_REPO_ROOT))).resolve()

    def path(name: str, default: str) -> Path:
        p = Path(_env(name, default))
        return p if p.is_absolute() else home / p

    var_dir = path("LEADSCORE_VAR", "var")
    crm_source = _env("LEADSCORE_CRM_SOURCE", "salesforce")
    if crm_source not in {"salesforce", "files"}:
        raise SettingsError(f"LEADSCORE_CRM_SOURCE={crm_source!r}; use 'salesforce' or 'files'")
    return Settings(
        home=home,
        warehouse=path("LEADSCORE_WAREHOUSE", "warehouse/lead_scoring.duckdb"),
        landing=path("LEADSCORE_LANDING", "landing"),
        runs_dir=path("LEADSCORE_RUNS", "runs"),
        var_dir=var_dir,
        dbt_project_dir=path("LEADSCORE_DBT_PROJECT", "dbt_project"),
        expectations_dir=path("LEADSCORE_EXPECTATIONS", "expectations"),
        crm_source=crm_source,
        dry_run=_bool("LEADSCORE_DRY_RUN", False),
        sandbox_dir=path("LEADSCORE_SANDBOX_DIR", str(var_dir / "sandbox")),
        sandbox_port=_int("LEADSCORE_SANDBOX_PORT", 8443),
        model_retrain_days=_int("LEADSCORE_MODEL_RETRAIN_DAYS", 7),
    )
