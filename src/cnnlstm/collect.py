"""Copy each run's small files out of the DVC-cached outputs into the git-tracked folders that
the README, the report, the plots and the gate read.

Why a stage of its own: DVC keeps a run-cache entry only for a stage whose outputs are all cached,
so train and evaluate write only cached outputs (runs/, results/) and this cheap stage mirrors
their small files into git (logs/train/, metrics/runs/, metrics/timings/)."""

from __future__ import annotations

import dataclasses
import shutil
from pathlib import Path

from cnnlstm.core.atomic import atomic_dir, atomic_path
from cnnlstm.core.errors import CnnLstmError


@dataclasses.dataclass(frozen=True)
class CollectPaths:
    runs: Path  # cached, from train: <model>/fold<k>/ (dvclive log and run.json)
    results: Path  # cached, from evaluate: <model>/fold<k>.{npz,metrics.json,timings.json}
    train_logs: Path  # git: <model>/fold<k>/
    metrics: Path  # git: <model>/fold<k>.json
    timings: Path  # git: <model>/fold<k>.json


def train_log_dir(runs: Path, model: str, fold: int) -> Path:
    return runs / model / f"fold{fold}"


def result_file(results: Path, model: str, fold: int, kind: str) -> Path:
    """kind: "npz", "metrics.json" or "timings.json"."""
    return results / model / f"fold{fold}.{kind}"


def collect(paths: CollectPaths, models: tuple[str, ...], folds: tuple[int, ...],
            incomplete: tuple[str, ...] = ()) -> int:
    """Mirror every model x fold run; a run whose cached files are missing is an error naming them.
    A run of a model in `incomplete` (a study between sittings) that is not done yet, trained and
    evaluated, is skipped instead, and its git-tracked copies from an earlier study are removed: the
    analysis sees only this study's runs."""
    unknown = [model for model in incomplete if model not in models]
    if unknown:
        raise CnnLstmError(f"--incomplete: {unknown[0]!r} is not a study model ({', '.join(models)})")
    copies: list[tuple[Path, Path]] = []
    stale: list[Path] = []
    for model in models:
        for fold in folds:
            run = [
                (train_log_dir(paths.runs, model, fold), paths.train_logs / model / f"fold{fold}"),
                (result_file(paths.results, model, fold, "metrics.json"), paths.metrics / model / f"fold{fold}.json"),
                (result_file(paths.results, model, fold, "timings.json"), paths.timings / model / f"fold{fold}.json"),
            ]
            if model in incomplete and not all(source.exists() for source, _ in run):
                stale += [target for _, target in run]
            else:
                copies += run
    missing = [str(source) for source, _ in copies if not source.exists()]
    if missing:
        raise CnnLstmError(f"{missing[0]}: not found ({len(missing)} run files missing); rerun its train or evaluate stage")
    for source, target in copies:
        if source.is_dir():
            with atomic_dir(target) as tmp:
                shutil.copytree(source, tmp, dirs_exist_ok=True)
        else:
            with atomic_path(target) as tmp:
                shutil.copyfile(source, tmp)
    for target in stale:
        if target.is_dir():
            shutil.rmtree(target)
        else:
            target.unlink(missing_ok=True)
    return len(copies)
