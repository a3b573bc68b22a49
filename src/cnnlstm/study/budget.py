"""Accuracy against training budget: one study summary per budget point (metrics/budgets/<E>ep.json,
or <E>ep-<tag>.json, each a metrics/summary.json of a run at E epochs) gathered into tables of held-out
accuracy, training FLOPs and the paired verdicts at each budget."""

from __future__ import annotations

import re
from pathlib import Path
from typing import Any

import pandas as pd

from cnnlstm.core.atomic import write_text
from cnnlstm.core.errors import CnnLstmError
from cnnlstm.core.jsonio import read_json
from cnnlstm.study.conditions import augmentation_phrase
from cnnlstm.study.formatting import plus_minus, verdicts_by_question

POINT_NAME = re.compile(r"(\d+)ep(-[a-z0-9_-]+)?")  # 30ep, 2ep-cpu
TRAIN_FLOPS_PER_FORWARD = 3  # forward + backward ~ 3 forward passes per training image (Kaplan et al. 2020)


def load_budget_points(folder: Path) -> dict[str, dict[str, Any]]:
    """Every budget summary in `folder` by point name, ordered by epochs. A file's name must state the
    epochs its runs were trained for (checked against the summary's conditions)."""
    points = {}
    for path in sorted(folder.glob("*.json")):
        match = POINT_NAME.fullmatch(path.stem)
        if match is None:
            raise CnnLstmError(f"{path}: budget summaries are named <epochs>ep.json or <epochs>ep-<tag>.json")
        summary = read_json(path)
        if "conditions" not in summary:
            raise CnnLstmError(f"{path}: has no `conditions`; copy it from a metrics/summary.json of this code")
        if summary["conditions"]["epochs"] != int(match.group(1)):
            raise CnnLstmError(f"{path}: named {match.group(1)} epochs but its runs trained for "
                               f"{summary['conditions']['epochs']}")
        points[path.stem] = summary
    if not points:
        raise CnnLstmError(f"{folder}: no budget summaries (<epochs>ep.json); see docs/budget.md")
    return dict(sorted(points.items(), key=lambda item: (item[1]["conditions"]["epochs"], item[0])))


def recipe(conditions: dict[str, Any]) -> str:
    """Everything a budget point was trained with except its epochs: points with the same recipe lie on
    one curve; a point with another recipe (e.g. the short CPU run) is drawn and listed apart."""
    c = conditions
    return (f"{c['optimizer']} {c['schedule']} lr {c['lr']:g} batch {c['batch_size']}, "
            f"{augmentation_phrase(c['augment'])}, {c['train_precision']} on {c['train_device']}")


def budget_table(points: dict[str, dict[str, Any]]) -> pd.DataFrame:
    """One row per (budget point, model): held-out accuracy mean and std over folds, fold-ensemble test
    accuracy, and training FLOPs per fold (FLOPs per image x 3 x training images x epochs)."""
    rows = []
    for point, summary in points.items():
        c = summary["conditions"]
        for model, entry in summary["models"].items():
            rows.append({
                "point": point, "epochs": c["epochs"], "recipe": recipe(c), "model": model,
                "accuracy_mean": entry["cv"]["accuracy"]["mean"], "accuracy_std": entry["cv"]["accuracy"]["std"],
                "folds": summary["folds"], "test_accuracy": entry["test_ensemble"]["accuracy"],
                "train_flops": TRAIN_FLOPS_PER_FORWARD * entry["flops_per_image"] * c["train_images"] * c["epochs"],
            })
    return pd.DataFrame(rows)


def budget_comparisons(points: dict[str, dict[str, Any]]) -> pd.DataFrame:
    """One row per (budget point, question, pair): the held-out accuracy difference and its verdict,
    as the aggregate stage judged it at that budget (Holm within the question, TOST margin)."""
    rows = []
    for point, summary in points.items():
        for question, pairs in summary["comparisons"].items():
            for entry in pairs.values():
                s = entry["accuracy"]
                rows.append({
                    "point": point, "epochs": summary["conditions"]["epochs"], "question": question,
                    "model": entry["model"], "baseline": entry["baseline"], "mean_diff": s["mean_diff"],
                    "ci95_low": s["ci95_low"], "ci95_high": s["ci95_high"], "p_ttest": s["p_ttest"],
                    "p_ttest_holm": s["p_ttest_holm"], "p_tost_holm": s["p_tost_holm"], "wins": s["wins"],
                    "folds": s["folds"], "verdict": s["verdict"], "margin": summary["equivalence_margin"],
                })
    return pd.DataFrame(rows)


def budget_markdown(table: pd.DataFrame, comparisons: pd.DataFrame) -> str:
    """Held-out accuracy (%) mean ± std per model at each budget point, the points' recipes, and per
    question each pair's difference and verdict at each point."""
    points = list(dict.fromkeys(table["point"]))
    recipes = table.drop_duplicates("point").set_index("point")["recipe"]
    lines = ["Budget points: " + "; ".join(f"**{p}**: {recipes[p]}" for p in points) + ".", ""]
    cells = [plus_minus(mean, std, True) for mean, std in zip(table["accuracy_mean"], table["accuracy_std"])]
    accuracy = table.assign(cell=cells)
    wide = accuracy.pivot(index="model", columns="point", values="cell")
    wide = wide.loc[list(dict.fromkeys(table["model"])), points].fillna("–")
    lines += ["Held-out accuracy %, mean ± std over folds:", "",
              wide.to_markdown(disable_numparse=True), ""]
    for question, wide in verdicts_by_question(comparisons, "point", points):
        lines += [f"**{question.title}** Δ held-out accuracy, verdict (wins/folds):", "",
                  wide.to_markdown(disable_numparse=True), ""]
    return "\n".join(lines)


def write_budget_tables(folder: Path, points: dict[str, dict[str, Any]]) -> tuple[pd.DataFrame, pd.DataFrame]:
    """budget.csv, budget_comparisons.csv and budget.md into `folder`; returns the two frames."""
    table, comparisons = budget_table(points), budget_comparisons(points)
    write_text(folder / "budget.csv", table.to_csv(index=False))
    write_text(folder / "budget_comparisons.csv", comparisons.to_csv(index=False))
    write_text(folder / "budget.md", budget_markdown(table, comparisons))
    return table, comparisons
