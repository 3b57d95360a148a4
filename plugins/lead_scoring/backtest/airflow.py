"""The backtest DAG's task body: DAG params -> ``run_backtest``."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

from lead_scoring.backtest.candidate import win_analysis_candidate
from lead_scoring.backtest.run import BacktestConfig, Variant, run_backtest
from lead_scoring.config import load_settings
from lead_scoring.run_context import parse_as_of


def backtest_from_params(params: dict[str, Any]) -> dict[str, Any]:
    settings = load_settings()
    candidate = None
    days = int(params.get("days", 90))
    end = parse_as_of(params["end"]) if params.get("end") else None
    if params.get("candidate_from_win_analysis"):
        # fitted on the data known before the first scored day (win_analysis_as_of: later = in-sample)
        fit_as_of = params.get("win_analysis_as_of")
        candidate, end, _ = win_analysis_candidate(
            settings, days, end=end, fit_as_of=parse_as_of(fit_as_of) if fit_as_of else None
        )
    elif params.get("candidate_seeds"):
        candidate = Variant("candidate", seeds_dir=Path(params["candidate_seeds"]))
    config = BacktestConfig(
        days=days,
        step_days=int(params.get("step_days", 1)),
        horizon_days=int(params.get("horizon_days", 30)),
        end=end,
        candidate=candidate,
    )
    # XCom-friendly: plain JSON types only
    return json.loads(json.dumps(run_backtest(settings, config), default=str))
