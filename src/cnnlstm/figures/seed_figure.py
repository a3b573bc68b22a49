"""The seed-variance figure of one study point: held-out accuracy per fold, one marker per training seed,
per model (top row) and the per-fold difference of each compared pair (bottom row). Seeds that scatter
less than the folds differ mean the fold, not the initialisation, drives a model's spread."""

from __future__ import annotations

import matplotlib

matplotlib.use("Agg")  # files only; no display on a build machine
import matplotlib.pyplot as plt  # noqa: E402
import numpy as np  # noqa: E402

from cnnlstm.figures import palette  # noqa: E402
from cnnlstm.figures.figures import model_styles  # noqa: E402
from cnnlstm.study.seed_runs import SeedStudy  # noqa: E402

MARKERS = palette.SEED_MARKERS  # one per seed


def _per_fold(ax: plt.Axes, study: SeedStudy, values: np.ndarray, color: object) -> None:
    """`values` (folds, seeds) in %: each seed's markers, and the seed mean as a line."""
    x = np.arange(len(study.folds))
    for j, seed in enumerate(study.seeds):
        ax.scatter(x, values[:, j], marker=MARKERS[j % len(MARKERS)], s=22, color=color, alpha=0.7,
                   label=f"seed {seed}")
    ax.plot(x, values.mean(axis=1), color=color, linewidth=1, label="mean of seeds")
    ax.set_xticks(x, [str(f) for f in study.folds])
    ax.set_xlabel("fold")
    ax.grid(alpha=0.3)


def seed_figure(study: SeedStudy, pairs: list[tuple[str, str]], proposed: str, margin: float) -> plt.Figure:
    """Per-fold accuracy of each model and the per-fold difference of each (model, baseline) in `pairs`,
    with the ±`margin` band; `proposed`: the proposed model, titled in bold and drawn in its colour."""
    models = list(study.heldout)
    look = model_styles(models, {m: m for m in models}, proposed)
    colors = look.colors
    pairs = list(dict.fromkeys(pairs))  # a pair can answer two questions
    columns = max(len(models), len(pairs), 1)
    fig, axes = plt.subplots(2, columns, figsize=(4.2 * columns, 7.5), squeeze=False)
    for ax, model in zip(axes[0], models):
        _per_fold(ax, study, study.heldout[model] * 100, colors[model])
        ax.set_title(model, fontsize=10, fontweight=look.weight(model))
    axes[0][0].set_ylabel("held-out accuracy (%)")
    top = [ax for ax, _ in zip(axes[0], models)]
    low = min(ax.get_ylim()[0] for ax in top)
    high = max(ax.get_ylim()[1] for ax in top)
    for ax in top:
        ax.set_ylim(low, high)  # one scale across models, so their spreads compare
    for ax, (model, baseline) in zip(axes[1], pairs):
        _per_fold(ax, study, (study.heldout[model] - study.heldout[baseline]) * 100, colors[model])
        ax.axhline(0, color=palette.NEUTRAL, linewidth=0.8)
        ax.axhspan(-margin * 100, margin * 100, color=palette.BAND, alpha=0.3, zorder=0,
                   label=f"±{margin * 100:g} pp margin")
        ax.set_title(f"{model} − {baseline}", fontsize=10)
    axes[1][0].set_ylabel("difference in held-out accuracy (pp)")
    for ax in list(axes[0][len(models):]) + list(axes[1][len(pairs):]):
        ax.set_visible(False)
    axes[0][0].legend(fontsize=7, loc="lower left")
    if pairs:
        axes[1][0].legend(fontsize=7, loc="lower left")
    fig.suptitle(f"{study.point}: held-out accuracy per fold at each training seed")
    fig.tight_layout()
    return fig
