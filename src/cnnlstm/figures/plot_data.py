"""Tidy tables behind every figure: the same frames feed the PNGs and DVC's interactive plots."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd
from sklearn.metrics import confusion_matrix, roc_auc_score, roc_curve

from cnnlstm.data.fashion_mnist import CLASSES
from cnnlstm.core.errors import CnnLstmError
from cnnlstm.study.runs import Run, StudyPaths, ensemble_probs, timing_summary

# ROC curves are sampled on this FPR grid (log-spaced near 0, where good classifiers differ)
# so that the data files stay small and every model's curve has the same x values. Rounded: numpy's
# SIMD pow differs in the last bit between CPUs, and the grid is written to plots/data as text.
FPR_GRID = np.unique(np.round(np.concatenate([[0.0], np.logspace(-4, 0, 81), np.linspace(0, 1, 51)]), 12))
TSNE_SEED = 0


def roc_on_grid(is_positive: np.ndarray, scores: np.ndarray) -> pd.DataFrame:
    """The exact ROC step function of one binary problem, evaluated at FPR_GRID."""
    fpr, tpr, _ = roc_curve(is_positive, scores)
    last = np.searchsorted(fpr, FPR_GRID, side="right") - 1  # last ROC point with fpr <= grid value
    return pd.DataFrame({"fpr": FPR_GRID, "tpr": tpr[last], "auroc": roc_auc_score(is_positive, scores)})


def roc_per_class(runs: list[Run]) -> pd.DataFrame:
    """One-vs-rest ROC of every class for one model's fold ensemble on the test set."""
    labels, probs = runs[0].predictions.test_labels, ensemble_probs(runs)
    frames = [roc_on_grid(labels == k, probs[:, k]).assign(**{"class": name}) for k, name in enumerate(CLASSES)]
    return pd.concat(frames, ignore_index=True)


def roc_of_class(study: dict[str, list[Run]], class_name: str) -> pd.DataFrame:
    """One class's one-vs-rest ROC for every model's fold ensemble on the test set."""
    k = CLASSES.index(class_name)
    frames = [
        roc_on_grid(runs[0].predictions.test_labels == k, ensemble_probs(runs)[:, k]).assign(model=name)
        for name, runs in study.items()
    ]
    return pd.concat(frames, ignore_index=True)


def confusion_rates(study: dict[str, list[Run]]) -> pd.DataFrame:
    """Fold-ensemble test confusion of every model, each row (true class) normalised to sum 1."""
    frames = []
    for name, runs in study.items():
        labels, predicted = runs[0].predictions.test_labels, ensemble_probs(runs).argmax(axis=1)
        rates = confusion_matrix(labels, predicted, labels=range(len(CLASSES)), normalize="true")  # (true, pred)
        actual, pred = np.meshgrid(CLASSES, CLASSES, indexing="ij")
        frames.append(pd.DataFrame({"model": name, "actual": actual.ravel(), "predicted": pred.ravel(),
                                    "rate": rates.ravel().round(4)}))
    return pd.concat(frames, ignore_index=True)


def tsne_points(study: dict[str, list[Run]]) -> pd.DataFrame:
    """2-D t-SNE of each model's penultimate features of the fixed test sample (first fold)."""
    from sklearn.manifold import TSNE  # slow to import; only this function needs it
    from threadpoolctl import threadpool_limits

    frames = []
    for name, runs in study.items():
        predictions = runs[0].predictions
        features = predictions.tsne_features.astype(np.float64)
        perplexity = min(30.0, (len(features) - 1) / 3)  # t-SNE needs perplexity < number of points
        tsne = TSNE(perplexity=perplexity, init="pca", max_iter=500, random_state=TSNE_SEED)
        # One OpenMP thread: on a shared 2-core machine more threads made it 4x slower, not faster.
        with threadpool_limits(1, user_api="openmp"):
            xy = tsne.fit_transform(features)
        order = np.argsort(predictions.tsne_labels, kind="stable")  # class order, for legends in that order
        frames.append(pd.DataFrame({"model": name, "x": xy[order, 0].round(3), "y": xy[order, 1].round(3),
                                    "class": np.asarray(CLASSES)[predictions.tsne_labels[order]]}))
    return pd.concat(frames, ignore_index=True)


def read_val_accuracy(path: Path) -> pd.Series:
    """Validation accuracy per epoch from a dvclive log (columns step and acc)."""
    try:
        log = pd.read_csv(path, sep="\t")
    except FileNotFoundError:
        raise CnnLstmError(f"{path}: training log not found; rerun its train stage") from None
    except (pd.errors.ParserError, pd.errors.EmptyDataError, UnicodeDecodeError) as exc:
        raise CnnLstmError(f"{path}: unreadable training log ({str(exc).splitlines()[0]})") from None
    if not {"step", "acc"} <= set(log.columns):
        raise CnnLstmError(f"{path}: expected columns step and acc, got {', '.join(log.columns)}")
    return pd.Series(log["acc"].to_numpy(), index=log["step"].to_numpy() + 1)  # dvclive steps count from 0


def learning_curves(paths: StudyPaths, models: tuple[str, ...], folds: tuple[int, ...]) -> pd.DataFrame:
    """Validation accuracy per epoch and model: the mean over folds and the mean ± std band.
    A fold that ran fewer epochs leaves NaN, which mean and std skip."""
    frames = []
    for name in models:
        logs = [paths.train_logs / name / f"fold{fold}" / "plots/metrics/val/acc.tsv" for fold in folds]
        curves = pd.concat([read_val_accuracy(log) for log in logs], axis=1)  # (epochs, folds)
        mean, std = curves.mean(axis=1), curves.std(axis=1, ddof=1).fillna(0.0)
        frames.append(pd.DataFrame({
            "model": name, "epoch": curves.index, "mean": mean.round(6).to_numpy(),
            "lower": (mean - std).round(6).to_numpy(), "upper": (mean + std).round(6).to_numpy(),
        }))
    return pd.concat(frames, ignore_index=True)


def cost_points(summary: dict[str, Any], study: dict[str, list[Run]]) -> pd.DataFrame:
    """Per model: mean held-out accuracy (± std) against parameters, FLOPs and training time."""
    rows = []
    for name in study:
        entry = summary["models"][name]
        rows.append({
            "model": name,
            "accuracy": entry["cv"]["accuracy"]["mean"],
            "accuracy_std": entry["cv"]["accuracy"]["std"],
            "params": entry["params"],
            "flops_per_image": entry["flops_per_image"],
            "train_seconds": round(timing_summary(study[name])["train_seconds"], 1),
        })
    return pd.DataFrame(rows)
