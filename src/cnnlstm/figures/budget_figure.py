"""The budget figure: held-out accuracy (mean ± std over folds) against training epochs and against
training FLOPs, one line per model and recipe (points trained with another recipe are dashed apart)."""

from __future__ import annotations

import matplotlib

matplotlib.use("Agg")  # files only; no display on a build machine
import matplotlib.pyplot as plt  # noqa: E402
import pandas as pd  # noqa: E402
from matplotlib import ticker  # noqa: E402

from cnnlstm.figures.figures import model_styles  # noqa: E402

LINESTYLES = {"-": "solid", "--": "dashed", ":": "dotted", "-.": "dash-dot"}  # one per recipe, in order


def budget_figure(table: pd.DataFrame, proposed: str) -> plt.Figure:
    """`table`: study.budget.budget_table's frame; `proposed`: the proposed model, drawn to stand out."""
    models = list(dict.fromkeys(table["model"]))
    look = model_styles(models, {m: m for m in models}, proposed)
    styles = {r: list(LINESTYLES)[i % len(LINESTYLES)] for i, r in enumerate(dict.fromkeys(table["recipe"]))}
    fig, axes = plt.subplots(1, 2, figsize=(14, 5.5), sharey=True)
    for ax, (column, label) in zip(axes, (("epochs", "training epochs"), ("train_flops", "training FLOPs per fold"))):
        for (model, recipe_name), rows in table.groupby(["model", "recipe"], sort=False):
            rows = rows.sort_values(column)
            line = look.line(model)
            ax.errorbar(rows[column], rows["accuracy_mean"] * 100, yerr=rows["accuracy_std"] * 100,
                        linestyle=styles[recipe_name], capsize=3, **look.marker(model), **line)
        ax.set(xscale="log", xlabel=f"{label} (log scale)")
        ax.xaxis.set_major_formatter(ticker.EngFormatter() if column == "train_flops" else ticker.ScalarFormatter())
        ax.xaxis.set_minor_formatter(ticker.NullFormatter())
        ax.grid(alpha=0.3)
    axes[0].set_xticks(sorted(set(table["epochs"])))
    axes[0].set_ylabel("held-out accuracy (%), mean ± std over folds")
    handles, labels = axes[0].get_legend_handles_labels()
    by_model = dict(zip(labels, handles))  # one entry per model, whatever its recipes
    look.embolden(axes[0].legend(by_model.values(), by_model.keys(), fontsize=7, loc="lower right"))
    fig.suptitle("Held-out accuracy against training budget")
    recipes = "\n".join(f"{LINESTYLES[style]} lines: {name}" for name, style in styles.items())
    fig.text(0.5, -0.01, recipes, ha="center", va="top", fontsize=8)
    return fig
