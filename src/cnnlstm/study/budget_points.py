"""Budget points in metrics/budgets/: <point>/ holds a study run's per-fold files (scripts/keep_budget.sh),
so its comparisons are judged again with the pre-registered analysis; <point>.json is a summary only (a
point whose per-fold files were not kept): shown, never judged. <point> is <E>ep or <E>ep-<tag>."""

from __future__ import annotations

import re
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from cnnlstm.core.errors import CnnLstmError
from cnnlstm.core.jsonio import read_json
from cnnlstm.study.kept_runs import KeptRuns, load_kept_runs

POINT_NAME = re.compile(r"(\d+)ep(-[a-z0-9_-]+)?")  # 30ep, 2ep-cpu


@dataclass(frozen=True)
class BudgetPoint:
    name: str
    summary: dict[str, Any]  # the run's metrics/summary.json
    runs: KeptRuns | None  # None: a summary only, no per-fold files

    @property
    def epochs(self) -> int:
        return int(self.summary["conditions"]["epochs"])


def _epochs(path: Path) -> int:
    match = POINT_NAME.fullmatch(path.stem if path.suffix == ".json" else path.name)
    if match is None:
        raise CnnLstmError(f"{path}: budget points are named <epochs>ep or <epochs>ep-<tag> (a folder, or .json)")
    return int(match.group(1))


def _load_point(path: Path) -> BudgetPoint:
    epochs = _epochs(path)
    runs = load_kept_runs(path) if path.is_dir() else None
    summary = runs.summary if runs else read_json(path)
    if "conditions" not in summary:
        raise CnnLstmError(f"{path}: has no `conditions`; copy it from a metrics/summary.json of this code")
    trained = {summary["conditions"]["epochs"]}
    if runs:
        trained |= {log["epochs"] for folds in runs.train_logs.values() for log in folds.values() if "epochs" in log}
    if trained != {epochs}:
        raise CnnLstmError(f"{path}: named {epochs} epochs but its runs trained for {sorted(trained)}")
    return BudgetPoint(path.stem if runs is None else path.name, summary, runs)


def load_budget_points(folder: Path) -> dict[str, BudgetPoint]:
    """Every budget point in `folder` by name, ordered by epochs."""
    paths = sorted(p for p in folder.glob("*") if p.is_dir() or p.suffix == ".json") if folder.is_dir() else []
    points: dict[str, BudgetPoint] = {}
    for path in paths:
        point = _load_point(path)
        if point.name in points:
            raise CnnLstmError(f"{path}: point {point.name} is kept twice (a folder and a .json); keep the folder")
        points[point.name] = point
    if not points:
        raise CnnLstmError(f"{folder}: no budget points (<epochs>ep/ or <epochs>ep.json); see docs/budget.md")
    return dict(sorted(points.items(), key=lambda item: (item[1].epochs, item[0])))
