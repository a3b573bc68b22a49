"""A study point's per-fold files kept by scripts/keep_run.sh (budget points in metrics/budgets/<point>/,
seed runs in metrics/seeds/<point>/seed<s>/): params.yaml, summary.json, runs/<model>/fold<k>.json
(metrics/runs) and train/<model>/fold<k>.json (logs/train/.../run.json), read back with their checks."""

from __future__ import annotations

import re
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np

from cnnlstm.core.errors import CnnLstmError
from cnnlstm.core.jsonio import read_json
from cnnlstm.study.conditions import check_one_recipe
from cnnlstm.study.runs import FoldSizes, fitted_images

FOLD_NAME = re.compile(r"fold(\d+)")


@dataclass(frozen=True)
class KeptRuns:
    folder: Path
    summary: dict[str, Any]  # the run's metrics/summary.json
    heldout: dict[str, dict[int, float]]  # model -> fold -> held-out accuracy
    train_logs: dict[str, dict[int, dict[str, Any]]]  # model -> fold -> run record

    @property
    def folds(self) -> int:
        return int(self.summary["folds"])

    def fold_counts(self) -> dict[str, int]:
        return {model: len(folds) for model, folds in self.heldout.items()}

    def complete(self) -> dict[str, np.ndarray]:
        """{model with every fold: held-out accuracy in fold order}."""
        return {model: np.array([folds[k] for k in sorted(folds)]) for model, folds in self.heldout.items()
                if len(folds) == self.folds}

    def sizes(self) -> FoldSizes:
        """Held-out and training part as the run's summary recorded them; fitted from the run records."""
        logs = [log for folds in self.train_logs.values() for log in folds.values()]
        recorded = self.summary["fold_sizes"]
        return FoldSizes(float(recorded["heldout"]), float(recorded["train"]), fitted_images(logs))


def fold_files(folder: Path) -> dict[int, Path]:
    """{fold: path} of the fold<k>.json files in `folder`."""
    matches = ((FOLD_NAME.fullmatch(p.stem), p) for p in folder.glob("*.json"))
    return {int(m.group(1)): p for m, p in matches if m is not None}


def load_kept_runs(folder: Path) -> KeptRuns:
    """Every kept run of `folder`: each fold's metrics made with the summary's fold split, a run record
    for each, one recipe and training precision across all (scripts/keep_run.sh keeps them together)."""
    summary = read_json(folder / "summary.json")
    sha = summary["folds_sha256"]
    heldout: dict[str, dict[int, float]] = {}
    logs: dict[str, dict[int, dict[str, Any]]] = {}
    runs = folder / "runs"
    if not runs.is_dir():
        raise CnnLstmError(f"{runs}: missing; keep a point with scripts/keep_run.sh")
    for model_dir in sorted(p for p in runs.iterdir() if p.is_dir()):
        model = model_dir.name
        for fold, path in sorted(fold_files(model_dir).items()):
            heldout.setdefault(model, {})[fold] = float(read_json(path, sha)["heldout"]["accuracy"])
            logs.setdefault(model, {})[fold] = read_json(folder / "train" / model / f"fold{fold}.json")
    if not heldout:
        raise CnnLstmError(f"{runs}: no runs/<model>/fold<k>.json")
    check_one_recipe([log for folds in logs.values() for log in folds.values()], str(folder))
    return KeptRuns(folder, summary, heldout, logs)
