"""Matplotlib figures of the study, drawn from the frames of plot_data. Every figure names its
axes, shows a legend or colour bar, and labels classes by name."""

from __future__ import annotations

from pathlib import Path

import matplotlib

matplotlib.use("Agg")  # files only; no display on a build machine
import matplotlib.pyplot as plt  # noqa: E402
from matplotlib import ticker  # noqa: E402
import numpy as np  # noqa: E402
import pandas as pd  # noqa: E402

from cnnlstm.core.atomic import atomic_path  # noqa: E402
from cnnlstm.data.fashion_mnist import CLASSES  # noqa: E402

DPI = 110


def model_colors(models: list[str]) -> dict[str, tuple]:
    """One fixed colour per model, the same in every figure."""
    cmap = plt.get_cmap("tab10" if len(models) <= 10 else "tab20")
    return {name: cmap(i % cmap.N) for i, name in enumerate(models)}


def save(fig: plt.Figure, path: Path) -> None:
    with atomic_path(path) as tmp:
        fig.savefig(tmp, format="png", dpi=DPI, bbox_inches="tight")
    plt.close(fig)


def _roc_axes(ax: plt.Axes, title: str) -> None:
    ax.plot([0, 1], [0, 1], color="grey", linestyle=":", linewidth=1, label="chance")
    ax.set(xlabel="false positive rate", ylabel="true positive rate", title=title)
    ax.grid(alpha=0.3)


def roc_per_class_figure(frame: pd.DataFrame, model: str) -> plt.Figure:
    fig, ax = plt.subplots(figsize=(7, 6))
    cmap = plt.get_cmap("tab10")
    for k, name in enumerate(CLASSES):
        curve = frame[frame["class"] == name]
        ax.plot(curve["fpr"], curve["tpr"], color=cmap(k), label=f"{name} (AUROC {curve['auroc'].iloc[0]:.4f})")
    _roc_axes(ax, f"One-vs-rest ROC per class: {model} (fold ensemble, test set)")
    ax.set_xscale("symlog", linthresh=0.01)  # stretches the low false-positive rates where classes differ
    ax.set(xlim=(0, 1), xlabel="false positive rate (linear below 0.01, log above)")
    ax.legend(loc="lower right", fontsize=8)
    return fig


def roc_of_class_figure(frame: pd.DataFrame, class_name: str, best: str, colors: dict[str, tuple]) -> plt.Figure:
    """The worst-predicted class of the best model, every model's ROC; right: the top-left zoomed."""
    fig, axes = plt.subplots(1, 2, figsize=(13, 5.5))
    for ax, zoom in zip(axes, (False, True)):
        for name, curve in frame.groupby("model", sort=False):
            width = 2.5 if name == best else 1.2
            ax.plot(curve["fpr"], curve["tpr"], color=colors[name], linewidth=width,
                    label=f"{name} (AUROC {curve['auroc'].iloc[0]:.4f})")
        _roc_axes(ax, f"ROC of '{class_name}' vs rest" + (" (zoom)" if zoom else ""))
        if zoom:
            ax.set(xlim=(0, 0.2), ylim=(max(0.0, frame.loc[frame["fpr"] <= 0.2, "tpr"].min() - 0.02), 1.0))
    axes[0].legend(loc="lower right", fontsize=8)
    fig.suptitle(f"Worst-recalled class of the best model {best} (held-out folds): fold ensembles on the test set")
    return fig


def confusion_figure(frame: pd.DataFrame, model: str) -> plt.Figure:
    rates = frame.pivot(index="actual", columns="predicted", values="rate").loc[list(CLASSES), list(CLASSES)]
    fig, ax = plt.subplots(figsize=(7.5, 6.5))
    image = ax.imshow(rates.to_numpy(), cmap="Blues", vmin=0, vmax=1)
    for (i, j), rate in np.ndenumerate(rates.to_numpy()):
        if rate >= 0.005:
            ax.text(j, i, f"{rate * 100:.0f}", ha="center", va="center", fontsize=8,
                    color="white" if rate > 0.5 else "black")
    ax.set_xticks(range(len(CLASSES)), CLASSES, rotation=45, ha="right")
    ax.set_yticks(range(len(CLASSES)), CLASSES)
    ax.set(xlabel="predicted class", ylabel="true class",
           title=f"{model}: test-set confusion (fold ensemble)\n% of each true class")
    fig.colorbar(image, ax=ax, label="fraction of the true class")
    return fig


def tsne_figure(frame: pd.DataFrame) -> plt.Figure:
    models = list(dict.fromkeys(frame["model"]))
    columns = min(3, len(models))
    rows = -(-len(models) // columns)
    fig, axes = plt.subplots(rows, columns, figsize=(4.6 * columns, 4.4 * rows), squeeze=False)
    cmap = plt.get_cmap("tab10")
    for ax, name in zip(axes.flat, models):
        points = frame[frame["model"] == name]
        for k, cls in enumerate(CLASSES):
            chosen = points[points["class"] == cls]
            ax.scatter(chosen["x"], chosen["y"], s=5, color=cmap(k), label=cls)
        ax.set(title=name, xlabel="t-SNE 1", ylabel="t-SNE 2", xticks=[], yticks=[])
    for ax in axes.flat[len(models):]:
        ax.set_visible(False)
    handles, labels = axes.flat[0].get_legend_handles_labels()
    fig.legend(handles, labels, loc="lower center", ncol=5, markerscale=3, title="true class")
    fig.suptitle("t-SNE of penultimate-layer features (test sample, first fold's model)")
    fig.tight_layout(rect=(0, 0.08, 1, 0.97))
    return fig


def learning_curves_figure(frame: pd.DataFrame, colors: dict[str, tuple]) -> plt.Figure:
    fig, ax = plt.subplots(figsize=(8, 5.5))
    for name, curve in frame.groupby("model", sort=False):
        ax.plot(curve["epoch"], curve["mean"] * 100, color=colors[name], marker="o", markersize=3, label=name)
        ax.fill_between(curve["epoch"], curve["lower"] * 100, curve["upper"] * 100, color=colors[name], alpha=0.2)
    ax.set(xlabel="epoch", ylabel="validation accuracy (%)",
           title="Learning curves: mean ± std over folds of the validation accuracy")
    ax.xaxis.set_major_locator(ticker.MaxNLocator(integer=True, min_n_ticks=1))
    ax.set_xlim(frame["epoch"].min() - 0.5, frame["epoch"].max() + 0.5)
    ax.grid(alpha=0.3)
    ax.legend(fontsize=8)
    return fig


def cost_figure(frame: pd.DataFrame, colors: dict[str, tuple]) -> plt.Figure:
    axes_spec = (("params", "parameters"), ("flops_per_image", "FLOPs per image"),
                 ("train_seconds", "training seconds per fold"))
    fig, axes = plt.subplots(1, 3, figsize=(16, 5), sharey=True)
    for ax, (column, label) in zip(axes, axes_spec):
        for row in frame.itertuples():
            ax.errorbar(getattr(row, column), row.accuracy * 100, yerr=row.accuracy_std * 100, fmt="o",
                        color=colors[row.model], capsize=3, label=row.model)
            ax.annotate(row.model, (getattr(row, column), row.accuracy * 100), textcoords="offset points",
                        xytext=(4, 4), fontsize=7)
        ax.set(xscale="log", xlabel=f"{label} (log scale)")
        ax.xaxis.set_major_locator(ticker.LogLocator(subs=(1, 2, 5)))  # labels even within one decade
        ax.xaxis.set_major_formatter(ticker.EngFormatter())
        ax.xaxis.set_minor_formatter(ticker.NullFormatter())
        ax.grid(alpha=0.3)
    axes[0].set_ylabel("held-out accuracy (%), mean ± std over folds")
    axes[0].legend(fontsize=7, loc="best")
    fig.suptitle("Accuracy against cost")
    return fig
