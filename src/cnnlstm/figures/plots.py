"""Every figure of the study: PNGs for people, CSV data files for `dvc plots show/diff`."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pandas as pd

from cnnlstm.core.atomic import write_text
from cnnlstm.figures import figures, plot_data
from cnnlstm.figures.paired_figure import paired_figure, pair_points
from cnnlstm.study.labels import display_names
from cnnlstm.study.runs import Run, StudyPaths, worst_class


def write_csv(path: Path, frame: pd.DataFrame) -> None:
    write_text(path, frame.to_csv(index=False))


def _per_fold_differences(summary: dict[str, Any], study: dict[str, list[Run]]) -> dict[tuple[str, str], tuple[float, ...]]:
    """{(model, baseline): held-out accuracy difference fold by fold} of every compared pair."""
    accuracy = {m: [run.metrics["heldout"]["accuracy"] for run in runs] for m, runs in study.items()}
    pairs = {(e["model"], e["baseline"]) for entries in summary["comparisons"].values() for e in entries.values()}
    return {(m, b): tuple(x - y for x, y in zip(accuracy[m], accuracy[b])) for m, b in pairs
            if m in accuracy and b in accuracy}


def make_plots(
    summary: dict[str, Any], study: dict[str, list[Run]], paths: StudyPaths, folds: tuple[int, ...],
    figures_dir: Path, data_dir: Path,
) -> list[Path]:
    """Draw every figure into `figures_dir` and its data into `data_dir`; return the PNG paths."""
    models = list(study)
    styles = figures.model_styles(models, display_names(summary), summary["proposed_model"])
    best, proposed = summary["best_model"], summary["proposed_model"]
    worst = worst_class(study[best])
    # Confusion and t-SNE of the best and the proposed model only: `dvc plots diff` shows every model's
    # panel twice (two revisions), too much for one screen.
    shown = {name: study[name] for name in dict.fromkeys((best, proposed))}
    frames = {
        "roc_best_model": plot_data.roc_per_class(study[best]),
        "roc_worst_class": plot_data.roc_of_class(study, worst),
        "confusion": plot_data.confusion_rates(shown),
        "tsne": plot_data.tsne_points(shown),
        "learning_curves": plot_data.learning_curves(paths, tuple(models), folds),
        "cost": plot_data.cost_points(summary, study),
    }
    for name, frame in frames.items():
        write_csv(data_dir / f"{name}.csv", frame)
    drawn = {
        "roc_best_model": figures.roc_per_class_figure(frames["roc_best_model"], styles.labels[best]),
        "roc_worst_class": figures.roc_of_class_figure(frames["roc_worst_class"], worst, best, styles),
        "tsne": figures.tsne_figure(frames["tsne"], styles),
        "learning_curves": figures.learning_curves_figure(frames["learning_curves"], styles),
        "accuracy_vs_cost": figures.cost_figure(frames["cost"], styles),
        "paired_differences": paired_figure(
            pair_points(summary, "this study", _per_fold_differences(summary, study)),
            summary["equivalence_margin"], proposed),
    }
    confusion = frames["confusion"]
    for name in shown:  # the report embeds the proposed and the best model's
        drawn[f"confusion/{name}"] = figures.confusion_figure(confusion[confusion["model"] == name],
                                                              styles.labels[name])
    written = []
    for name, fig in drawn.items():
        path = figures_dir / f"{name}.png"
        figures.save(fig, path)
        written.append(path)
    return written
