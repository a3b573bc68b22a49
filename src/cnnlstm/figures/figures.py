"""Matplotlib figures of the study, drawn from the frames of plot_data. Every figure names its
axes, shows a legend or colour bar, and labels classes by name."""

from __future__ import annotations

import dataclasses
from pathlib import Path

import matplotlib

matplotlib.use("Agg")  # files only; no display on a build machine
import matplotlib.pyplot as plt  # noqa: E402
from matplotlib import colors as mcolors, ticker  # noqa: E402
import numpy as np  # noqa: E402
import pandas as pd  # noqa: E402

from cnnlstm.core.atomic import atomic_path  # noqa: E402
from cnnlstm.data.fashion_mnist import CLASSES  # noqa: E402
from cnnlstm.figures import palette  # noqa: E402

DPI = 110


@dataclasses.dataclass(frozen=True)
class ModelStyles:
    """How each model is drawn in every comparison figure: its colour and marker (figures/palette.py),
    its display label (study/labels.py); the proposed model stands out (red, star, thick line, bold label)."""

    colors: dict[str, str]
    markers: dict[str, str]
    labels: dict[str, str]
    proposed: str

    def line(self, name: str) -> dict:
        """plot() keywords of model `name`."""
        strong = name == self.proposed
        return {"color": self.colors[name], "label": self.labels[name],
                "linewidth": 2.8 if strong else 1.2, "zorder": 3 if strong else 2}

    def marker(self, name: str) -> dict:
        """Marker keywords of model `name` for scatter-like plots."""
        strong = name == self.proposed
        return {"marker": self.markers[name], "markersize": 14 if strong else 7}

    def weight(self, name: str) -> str:
        return "bold" if name == self.proposed else "normal"

    def embolden(self, legend: matplotlib.legend.Legend) -> None:
        """Bold the proposed model's entry in a legend whose texts are display labels."""
        for text in legend.get_texts():
            if text.get_text().startswith(self.labels[self.proposed]):
                text.set_fontweight("bold")


def model_styles(models: list[str], labels: dict[str, str], proposed: str) -> ModelStyles:
    """Each model's colour and marker from the palette: the same in every figure."""
    styles = {name: palette.style(name, proposed) for name in models}
    return ModelStyles({n: s.color for n, s in styles.items()}, {n: s.marker for n, s in styles.items()},
                       labels, proposed)


def save(fig: plt.Figure, path: Path) -> None:
    with atomic_path(path) as tmp:
        # No "Software" (matplotlib version) chunk: the same figure gives the same bytes anywhere.
        fig.savefig(tmp, format="png", dpi=DPI, bbox_inches="tight", metadata={"Software": None})
    plt.close(fig)


def _roc_axes(ax: plt.Axes, title: str) -> None:
    ax.plot([0, 1], [0, 1], color=palette.NEUTRAL, linestyle=":", linewidth=1, label="chance")
    ax.set(xlabel="false positive rate", ylabel="true positive rate", title=title)
    ax.grid(alpha=0.3)


def roc_per_class_figure(frame: pd.DataFrame, label: str) -> plt.Figure:
    fig, ax = plt.subplots(figsize=(7, 6))
    for k, name in enumerate(CLASSES):
        curve = frame[frame["class"] == name]
        ax.plot(curve["fpr"], curve["tpr"], color=palette.CLASS_COLORS[k], label=f"{name} (AUROC {curve['auroc'].iloc[0]:.4f})")
    _roc_axes(ax, f"One-vs-rest ROC per class: {label} (fold ensemble, test set)")
    ax.set_xscale("symlog", linthresh=0.01)  # stretches the low false-positive rates where classes differ
    ax.set(xlim=(0, 1), xlabel="false positive rate (linear below 0.01, log above)")
    ax.legend(loc="lower right", fontsize=8)
    return fig


def roc_of_class_figure(frame: pd.DataFrame, class_name: str, best: str, styles: ModelStyles) -> plt.Figure:
    """The worst-predicted class of the best model, every model's ROC; right: the top-left zoomed."""
    fig, axes = plt.subplots(1, 2, figsize=(13, 5.5))
    for ax, zoom in zip(axes, (False, True)):
        for name, curve in frame.groupby("model", sort=False):
            style = styles.line(name)
            style["label"] += f" (AUROC {curve['auroc'].iloc[0]:.4f})"
            ax.plot(curve["fpr"], curve["tpr"], **style)
        _roc_axes(ax, f"ROC of '{class_name}' vs rest" + (" (zoom)" if zoom else ""))
        if zoom:
            ax.set(xlim=(0, 0.2), ylim=(max(0.0, frame.loc[frame["fpr"] <= 0.2, "tpr"].min() - 0.02), 1.0))
    styles.embolden(axes[0].legend(loc="lower right", fontsize=8))
    fig.suptitle(f"Worst-recalled class of the best model {styles.labels[best]} (held-out folds): "
                 "fold ensembles on the test set")
    return fig


# Square-root colour scale: the off-diagonal confusions (0.1-20%) stay visible beside the ~90% diagonal.
CONFUSION_NORM = mcolors.PowerNorm(gamma=0.5, vmin=0, vmax=100)
CONFUSION_BAR_LABEL = "% of the true class (square-root colour scale; empty cell: none)"


def percent_text(percent: float) -> str:
    """A confusion cell's text: one decimal; a non-zero value never reads as 0."""
    if percent == 0:
        return ""
    return "<0.1" if percent < 0.05 else f"{percent:.1f}"


def _confusion_axes(
    ax: plt.Axes, frame: pd.DataFrame, fontsize: float, ticks: tuple[bool, bool]
) -> matplotlib.image.AxesImage:
    """One model's row-normalised confusion matrix in percent on `ax`; `ticks`: (x, y) class names."""
    percent = frame.pivot(index="actual", columns="predicted", values="rate").loc[list(CLASSES), list(CLASSES)] * 100
    image = ax.imshow(percent.to_numpy(), cmap=palette.CONFUSION_CMAP, norm=CONFUSION_NORM)
    for (i, j), value in np.ndenumerate(percent.to_numpy()):
        ax.text(j, i, percent_text(value), ha="center", va="center", fontsize=fontsize,
                color=palette.CELL_TEXT[int(CONFUSION_NORM(value) > 0.6)])
    ax.set_xticks(range(len(CLASSES)), CLASSES if ticks[0] else [], rotation=45, ha="right")
    ax.set_yticks(range(len(CLASSES)), CLASSES if ticks[1] else [])
    return image


def confusion_figure(frame: pd.DataFrame, label: str) -> plt.Figure:
    """One model's confusion matrix (`label`: its display name)."""
    fig, ax = plt.subplots(figsize=(7.5, 6.5))
    image = _confusion_axes(ax, frame, 7.5, (True, True))
    ax.set(xlabel="predicted class", ylabel="true class",
           title=f"{label}: test-set confusion (fold ensemble)\n% of each true class")
    fig.colorbar(image, ax=ax, label=CONFUSION_BAR_LABEL)
    return fig


def tsne_figure(frame: pd.DataFrame, styles: ModelStyles) -> plt.Figure:
    models = list(dict.fromkeys(frame["model"]))
    columns = min(3, len(models))
    rows = -(-len(models) // columns)
    fig, axes = plt.subplots(rows, columns, figsize=(4.6 * columns, 4.4 * rows), squeeze=False)
    for ax, name in zip(axes.flat, models):
        points = frame[frame["model"] == name]
        for k, cls in enumerate(CLASSES):
            chosen = points[points["class"] == cls]
            ax.scatter(chosen["x"], chosen["y"], s=5, color=palette.CLASS_COLORS[k], label=cls)
        ax.set(xlabel="t-SNE 1", ylabel="t-SNE 2", xticks=[], yticks=[])
        ax.set_title(styles.labels[name], fontsize=10, fontweight=styles.weight(name))
    for ax in axes.flat[len(models):]:
        ax.set_visible(False)
    handles, labels = axes.flat[0].get_legend_handles_labels()
    fig.legend(handles, labels, loc="lower center", ncol=5, markerscale=3, title="true class")
    fig.suptitle("t-SNE of penultimate-layer features (test sample, first fold's model)")
    fig.tight_layout(rect=(0, 0.08, 1, 0.97))
    return fig


def learning_curves_figure(frame: pd.DataFrame, styles: ModelStyles) -> plt.Figure:
    fig, ax = plt.subplots(figsize=(8, 5.5))
    for name, curve in frame.groupby("model", sort=False):
        marker = styles.marker(name)
        ax.plot(curve["epoch"], curve["mean"] * 100, marker=marker["marker"], markersize=marker["markersize"] / 2,
                **styles.line(name))
        ax.fill_between(curve["epoch"], curve["lower"] * 100, curve["upper"] * 100, color=styles.colors[name],
                        alpha=0.2)
    ax.set(xlabel="epoch", ylabel="validation accuracy (%)",
           title="Learning curves: mean ± std over folds of the validation accuracy")
    ax.xaxis.set_major_locator(ticker.MaxNLocator(integer=True, min_n_ticks=1))
    ax.set_xlim(frame["epoch"].min() - 0.5, frame["epoch"].max() + 0.5)
    ax.grid(alpha=0.3)
    styles.embolden(ax.legend(fontsize=8))
    return fig


def cost_figure(frame: pd.DataFrame, styles: ModelStyles) -> plt.Figure:
    axes_spec = (("params", "parameters"), ("flops_per_image", "FLOPs per image"),
                 ("train_seconds", "training seconds per fold"))
    fig, axes = plt.subplots(1, 3, figsize=(16, 5.8), sharey=True, layout="constrained")
    for ax, (column, label) in zip(axes, axes_spec):
        for row in frame.itertuples():
            ax.errorbar(getattr(row, column), row.accuracy * 100, yerr=row.accuracy_std * 100, linestyle="none",
                        color=styles.colors[row.model], capsize=3, label=styles.labels[row.model],
                        **styles.marker(row.model))
            ax.annotate(row.model, (getattr(row, column), row.accuracy * 100), textcoords="offset points",
                        xytext=(4, 4), fontsize=7, fontweight=styles.weight(row.model))
        ax.set(xscale="log", xlabel=f"{label} (log scale)")
        ax.xaxis.set_major_locator(ticker.LogLocator(subs=(1, 2, 5)))  # labels even within one decade
        ax.xaxis.set_major_formatter(ticker.EngFormatter())
        ax.xaxis.set_minor_formatter(ticker.NullFormatter())
        ax.grid(alpha=0.3)
    axes[0].set_ylabel("held-out accuracy (%), mean ± std over folds")
    # Below the panels: inside one, the legend would hide points.
    styles.embolden(fig.legend(*axes[0].get_legend_handles_labels(), loc="outside lower center", ncol=5, fontsize=8))
    fig.suptitle("Accuracy against cost")
    return fig
