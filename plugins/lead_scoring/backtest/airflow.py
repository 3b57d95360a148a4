"""The backtest DAG's task body: DAG params -> ``run_backtest``."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any


def backtest_from_params(params: dict[str, Any]) -> dict[str, Any]:
    from lead_scoring.backtest.candidate import suggested_points, write_candidate_seeds  # noqa: PLC0415
    from lead_scoring.backtest.run import BacktestConfig, Variant, run_backtest  # noqa: PLC0415
    from lead_scoring.config import load_settings  # noqa: PLC0415
    from lead_scoring.pipeline import parse_as_of  # noqa: PLC0415

    settings = load_settings()
    candidate = None
    if params.get("candidate_from_win_analysis"):
        folder = settings.var_dir / "backtest" / "candidate_seeds"
        write_candidate_seeds(
            settings.dbt_project_dir / "seeds", suggested_points(settings.warehouse), folder
        )
        candidate = Variant("candidate", seeds_dir=folder)
    elif params.get("candidate_seeds"):
        candidate = Variant("candidate", seeds_dir=Path(params["candidate_seeds"]))
    config = BacktestConfig(
        days=int(params.get("days", 90)),
        step_days=int(params.get("step_days", 1)),
        horizon_days=int(params.get("horizon_days", 30)),
        end=parse_as_of(params["end"]) if params.get("end") else None,
        candidate=candidate,
    )
    # XCom-friendly: plain JSON types only
    return json.loads(json.dumps(run_backtest(settings, config), default=str))
