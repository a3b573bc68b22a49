"""The figure the study's question needs: for each compared pair (hybrid − CNN, BiLSTM − LSTM, hybrid −
parameter-matched CNN), the paired difference in held-out accuracy per fold, its mean with the 95% CI of
the corrected t-test, and the ±margin band inside which a difference counts as equivalent; one panel per
budget point. Error bars over folds (the cost figure) hide what the pairing shows: a fold that is hard for
one model is hard for the other."""

from __future__ import annotations

from typing import Any, NamedTuple

import matplotlib

matplotlib.use("Agg")  # files only; no display on a build machine
import matplotlib.pyplot as plt  # noqa: E402
import numpy as np  # noqa: E402

from cnnlstm.figures import palette  # noqa: E402
from cnnlstm.figures.figures import model_styles  # noqa: E402

# The questions about the hybrid; vs_row_lstm compares every model with the weakest baseline.
QUESTIONS_SHOWN = ("lstm_vs_cnn", "param_matched", "bidirectional")


class PairPoint(NamedTuple):
    point: str                               # the budget point, e.g. 2ep-cpu
    model: str
    baseline: str
    mean: float                              # held-out accuracy difference, model − baseline (fraction)
    low: float                               # its 95% CI
    high: float
    wins: int
    folds: int
    verdict: str
    per_fold: tuple[float, ...] | None       # the differences fold by fold, where the runs are at hand


def pair_points(summary: dict[str, Any], point: str,
                per_fold: dict[tuple[str, str], tuple[float, ...]] | None = None) -> list[PairPoint]:
    """The shown questions' accuracy comparisons of one study summary (metrics/summary.json's content)."""
    rows = []
    for question in QUESTIONS_SHOWN:
        for entry in summary["comparisons"].get(question, {}).values():
            stats, pair = entry["accuracy"], (entry["model"], entry["baseline"])
            rows.append(PairPoint(point, *pair, stats["mean_diff"], stats["ci95_low"], stats["ci95_high"],
                                  stats["wins"], stats["folds"], stats["verdict"], (per_fold or {}).get(pair)))
    return rows


def table_points(comparisons: Any) -> list[PairPoint]:
    """The shown questions' judged pairs of a budget comparisons table (study.budget's frame, one row per
    point and pair); pairs not run at a point are left out."""
    shown = comparisons[comparisons["question"].isin(QUESTIONS_SHOWN) & (comparisons["verdict"] != "not run")]
    return [PairPoint(r.point, r.model, r.baseline, r.mean_diff, r.ci95_low, r.ci95_high, int(r.wins), int(r.folds),
                      r.verdict, None) for r in shown.itertuples()]


def paired_figure(rows: list[PairPoint], margin: float, proposed: str) -> plt.Figure:
    """A forest plot per budget point: one row per pair, the proposed model's pairs in its colour."""
    pairs = list(dict.fromkeys((r.model, r.baseline) for r in rows))
    points = list(dict.fromkeys(r.point for r in rows))
    look = model_styles(list(dict.fromkeys(m for pair in pairs for m in pair)), {}, proposed)
    fig, axes = plt.subplots(1, len(points), figsize=(3.0 + 2.6 * len(points), max(2.8, 1.2 + 0.5 * len(pairs))),
                             sharey=True, squeeze=False, layout="constrained")
    y_of = {pair: len(pairs) - 1 - i for i, pair in enumerate(pairs)}  # the first pair on top
    for ax, point in zip(axes[0], points):
        ax.axvspan(-margin * 100, margin * 100, color=palette.BAND, alpha=0.35, zorder=0,
                   label=f"±{margin * 100:g} pp: equivalent")
        ax.axvline(0, color=palette.NEUTRAL, linewidth=0.8)
        for row in (r for r in rows if r.point == point):
            y, color = y_of[(row.model, row.baseline)], look.colors[row.model]
            if row.per_fold is not None:
                jitter = np.linspace(-0.18, 0.18, len(row.per_fold))
                ax.scatter(np.asarray(row.per_fold) * 100, y + jitter, s=9, color=color, alpha=0.45, zorder=2)
            ax.errorbar(row.mean * 100, y, xerr=[[(row.mean - row.low) * 100], [(row.high - row.mean) * 100]],
                        color=color, capsize=3, linestyle="none", zorder=3, **look.marker(row.model))
            ax.annotate(f"{row.verdict}, higher on {row.wins}/{row.folds}", (row.high * 100, y), textcoords="offset points",
                        xytext=(5, 3), fontsize=7, color=palette.NEUTRAL)
        ax.set_title(point, fontsize=10)
        ax.set_xlabel("Δ held-out accuracy (pp)")
        ax.grid(axis="x", alpha=0.3)
    labels = [f"{m} − {b}" for m, b in pairs]
    axes[0][0].set_yticks(list(y_of.values()), labels)
    for tick, (model, _) in zip(axes[0][0].get_yticklabels(), pairs):
        tick.set_fontweight(look.weight(model))
    axes[0][0].set_ylim(-0.7, len(pairs) - 0.3)
    axes[0][0].legend(fontsize=7, loc="lower left")
    fig.suptitle("Paired differences per fold (dots, where the runs are at hand), mean and 95% CI (bars)",
                 fontsize=10)
    return fig
