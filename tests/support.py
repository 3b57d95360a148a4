"""What several test files share: the repository root and an isolated settings layout."""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from datetime import datetime
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


@contextmanager
def generated_world(
    root: Path,
    monkeypatch: pytest.MonkeyPatch,
    *,
    leads: int,
    days: int,
    seed: int,
    end: datetime,
    dry_run: bool | None = None,
    crm_files: bool = False,
) -> Iterator[tuple]:
    """Settings under ``root`` with synthetic CRM + MAP data (``leads`` over ``days`` up to
    ``end``; with ``crm_files`` also the CRM as Data Loader CSVs in the landing folder), the
    CRM sandbox loaded and serving; the caller's CRM source and alert channels unset, dry run
    as given (unset by default). Yields (settings, sandbox) and stops the sandbox after."""
    from crm_sandbox import runtime
    from crm_sandbox.store import load_parquet_dir
    from lead_scoring.config import load_settings
    from lead_scoring_dev.generate.synthetic import generate

    isolated_env(root, monkeypatch)
    for key in (
        "LEADSCORE_CRM_SOURCE",
        "LEADSCORE_DRY_RUN",
        "LEADSCORE_SLACK_WEBHOOK_URL",
        "LEADSCORE_SMTP_HOST",
    ):
        monkeypatch.delenv(key, raising=False)
    if dry_run is not None:
        monkeypatch.setenv("LEADSCORE_DRY_RUN", "true" if dry_run else "false")
    settings = load_settings()
    generate(
        settings.var_dir / "generated",
        settings.landing,
        leads=leads,
        days=days,
        seed=seed,
        end=end,
        crm_files=crm_files,
    )
    load_parquet_dir(settings.sandbox_dir / "crm.sqlite", settings.var_dir / "generated" / "crm")
    sandbox = runtime.start(settings.sandbox_dir, port=0)
    try:
        yield settings, sandbox
    finally:
        runtime.stop(settings.sandbox_dir)


def rows(settings, sql: str, params: list | None = None) -> list[tuple]:
    """The rows of ``sql`` (with ``params``) on the warehouse of ``settings``."""
    from lead_scoring import warehouse

    with warehouse.connect(settings.warehouse) as con:
        return con.execute(sql, params or []).fetchall()


def check_reasons_add_up(text: str, composite: float) -> dict[str, int]:
    """Check one score_reasons text ("81 = Fit 48 [a +10, 4 more +22] + Intent 33 [...]"):
    the points listed in each component (its remainder included) add up to the component,
    the components add up to the composite before its 0-100 clamp, and the clamp gives the
    composite. Returns the components' points by name."""
    import re

    head = re.match(r"^(\d+)(?: \((?:capped|floored) from (-?\d+)\))? = (.*)$", text)
    assert head, text
    score, unclamped = int(head.group(1)), int(head.group(2) or head.group(1))
    assert score == composite and min(max(unclamped, 0), 100) == score, text
    components = {}
    for part in re.split(r" \+ (?=(?:Intent|Model|Negative) -?\d+)", head.group(3)):
        found = re.match(r"^(Fit|Intent|Model|Negative) (-?\d+)(?: \[(.*)\])?$", part)
        assert found, (part, text)
        name, points, listed = found.group(1), int(found.group(2)), found.group(3) or ""
        items = [int(p) for p in re.findall(r" ([+-]\d+)(?: \(\d{4}-\d{2}-\d{2}\))?(?=, |$)", listed)]
        assert sum(items) == points, (name, text)
        components[name] = points
    assert list(components)[:2] == ["Fit", "Intent"], text
    assert sum(components.values()) == unclamped, text
    return components
