"""Reading every run of the study back, checked: one fold split, no fold missing, same test images."""

from __future__ import annotations

import dataclasses
from pathlib import Path
from typing import Any

import numpy as np

from cnnlstm.data.fashion_mnist import CLASSES
from cnnlstm.data.folds import UNUSED, file_sha256, load_folds
from cnnlstm.core.errors import CnnLstmError
from cnnlstm.core.jsonio import read_json
from cnnlstm.evaluation.predictions import Predictions, load_predictions


@dataclasses.dataclass(frozen=True)
class StudyPaths:
    folds: Path = Path("data/folds.npy")
    results: Path = Path("results")  # <model>/fold<k>.npz
    runs: Path = Path("metrics/runs")  # <model>/fold<k>.json
    timings: Path = Path("metrics/timings")  # <model>/fold<k>.json
    train_logs: Path = Path("logs/train")  # <model>/fold<k>/ (dvclive)

    def run_file(self, folder: Path, model: str, fold: int, suffix: str) -> Path:
        return folder / model / f"fold{fold}{suffix}"

    def fold_files(self, model: str, fold: int) -> tuple[Path, ...]:
        """Every file one run leaves: predictions, metrics, timings, training record."""
        return (self.run_file(self.results, model, fold, ".npz"), self.run_file(self.runs, model, fold, ".json"),
                self.run_file(self.timings, model, fold, ".json"), self.train_logs / model / f"fold{fold}" / "run.json")


@dataclasses.dataclass(frozen=True)
class FoldSizes:
    """Mean sizes of a fold's parts: n_test of the corrected t-test is `heldout`; its n_train is either
    choice of `study.ttest_train_size` (docs/preregistration.md says why both are computed)."""

    heldout: float
    training_part: float  # everything not held out
    fitted: float  # what each model is fitted on: the training part minus its epoch-selection slice

    def n_train(self, choice: str) -> float:
        return {"fitted": self.fitted, "training_part": self.training_part}[choice]

    def as_dict(self) -> dict[str, float]:
        """As summary.json records them (`train` is the training part, as before `fitted` existed)."""
        return {"train": self.training_part, "heldout": self.heldout, "fitted": self.fitted}


def fitted_images(train_logs: list[dict[str, Any]]) -> float:
    """Mean number of images the runs were fitted on, from their run records (`train_images`)."""
    return float(np.mean([log["train_images"] for log in train_logs]))


def fold_sizes(folds_path: Path, train_logs: list[dict[str, Any]]) -> FoldSizes:
    """The fold sizes of a study: held-out and training part from the fold file, fitted from the runs."""
    assignment = load_folds(folds_path)
    heldout = np.bincount(assignment[assignment != UNUSED])
    used = heldout.sum()
    return FoldSizes(float(heldout.mean()), float(used - heldout.mean()), fitted_images(train_logs))


@dataclasses.dataclass(frozen=True)
class Run:
    metrics: dict[str, Any]  # metrics/runs/<model>/fold<k>.json
    timings: dict[str, Any]  # metrics/timings/<model>/fold<k>.json
    predictions: Predictions
    train_log: dict[str, Any]  # logs/train/<model>/fold<k>/run.json: epochs, device and precision trained with




def load_model_runs(paths: StudyPaths, model: str, folds: tuple[int, ...], folds_sha256: str,
                    may_miss: bool) -> list[Run]:
    """Every fold's outputs of `model`; errors name the first missing, corrupt or foreign file. With
    `may_miss`, a fold none of whose files exist (not run yet) is skipped: the model is incomplete."""
    runs = []
    for fold in folds:
        files = paths.fold_files(model, fold)
        if may_miss and not any(f.exists() for f in files):
            continue
        if may_miss and not all(f.exists() for f in files):
            missing = next(f for f in files if not f.exists())
            raise CnnLstmError(f"{missing}: missing while other files of {model} fold {fold} exist; rerun its stages")
        predictions = load_predictions(paths.run_file(paths.results, model, fold, ".npz"), folds_sha256)
        metrics_path = paths.run_file(paths.runs, model, fold, ".json")
        metrics = read_json(metrics_path, folds_sha256)
        if (metrics.get("model"), metrics.get("fold")) != (model, fold):
            raise CnnLstmError(f"{metrics_path}: holds {metrics.get('model')} fold {metrics.get('fold')}")
        timings = read_json(paths.run_file(paths.timings, model, fold, ".json"))
        train_log = read_json(files[3], folds_sha256)
        runs.append(Run(metrics, timings, predictions, train_log))
    return runs


def load_study(paths: StudyPaths, models: tuple[str, ...], folds: tuple[int, ...]) -> tuple[str, dict[str, list[Run]]]:
    """(folds hash, runs per model), every model with all its folds."""
    sha, study, _ = load_runs(paths, models, folds, ())
    return sha, study


def load_runs(paths: StudyPaths, models: tuple[str, ...], folds: tuple[int, ...], incomplete: tuple[str, ...]
              ) -> tuple[str, dict[str, list[Run]], dict[str, list[Run]]]:
    """(folds hash, runs per complete model, runs per incomplete model). Only the models listed in
    `incomplete` may lack folds (a run not made yet: none of its files); any other missing file is an
    error. All runs must share the test images, so that fold models can be ensembled and models compared
    on the same images."""
    if not paths.folds.is_file():
        raise CnnLstmError(f"{paths.folds}: folds file not found; run `dvc repro split` first")
    unknown = [m for m in incomplete if m not in models]
    if unknown:
        raise CnnLstmError(f"--incomplete: {unknown[0]!r} is not a study model ({', '.join(models)})")
    sha = file_sha256(paths.folds)
    loaded = {model: load_model_runs(paths, model, folds, sha, model in incomplete) for model in models}
    study = {model: runs for model, runs in loaded.items() if len(runs) == len(folds)}
    partial = {model: runs for model, runs in loaded.items() if len(runs) < len(folds)}
    if not study:
        raise CnnLstmError(f"{paths.runs}: no model has all {len(folds)} folds; nothing to aggregate")
    reference = next(iter(study))
    first = study[reference][0].predictions.test_index
    for model, runs in study.items():
        for fold, run in zip(folds, runs):
            if not np.array_equal(run.predictions.test_index, first):
                path = paths.run_file(paths.results, model, fold, ".npz")
                raise CnnLstmError(
                    f"{path}: evaluated other test images than {reference} fold {folds[0]} "
                    f"(eval.test_subset changed?); rerun its evaluate stage"
                )
    return sha, study, partial


def ensemble_probs(runs: list[Run]) -> np.ndarray:
    """(M, 10) test-set probabilities of the fold models averaged: the fold ensemble."""
    return np.mean([run.predictions.test_probs for run in runs], axis=0)


def per_class_cv(runs: list[Run], kind: str) -> dict[str, float]:
    """Mean over folds of one per-class held-out metric (precision, recall or auroc), by class name."""
    per_fold = [run.metrics["heldout"]["per_class"][kind] for run in runs]
    return {name: float(np.mean([fold[name] for fold in per_fold])) for name in CLASSES}


def worst_class(runs: list[Run]) -> str:
    """The class a model recalls worst, judged on held-out folds (never on the test set)."""
    recall = per_class_cv(runs, "recall")
    return min(recall, key=recall.get)


def timing_summary(runs: list[Run]) -> dict[str, Any]:
    """Mean training seconds per fold and inference speed of one model (not bit-stable)."""
    timings = [run.timings for run in runs]
    return {
        "train_seconds": float(np.mean([t["train_seconds"] for t in timings])),
        "inference_images_per_s": float(np.mean([t["inference_images_per_s"] for t in timings])),
        "latency_ms": float(np.median([t["latency_ms"] for t in timings])),
        "device": "/".join(sorted({t["device"] for t in timings})),
    }
