"""How numbers are shown in the tables and the report."""

from __future__ import annotations

import math
from collections.abc import Iterator

import pandas as pd

from cnnlstm.study.questions import QUESTIONS, Question
from cnnlstm.study.verdicts import NOT_RUN, SUMMARY_ONLY


def plus_minus(mean: float, std: float, percent: bool) -> str:
    """`mean ± std`, in % with 2 decimals or as a plain number with 4."""
    scale, digits = (100, 2) if percent else (1, 4)
    return f"{mean * scale:.{digits}f} ± {std * scale:.{digits}f}"


def format_p(p: float | None) -> str:
    """A p-value with 3 decimals; tiny ones as `< 0.001`, undefined ones as a dash."""
    if p is None or math.isnan(p):
        return "–"
    return "< 0.001" if p < 0.001 else f"{p:.3f}"


def comparison_cell(row: pd.Series) -> str:
    """`Δ pp, verdict (wins/folds)`, with `borderline` and the verdict under the other n_train where they
    differ; `not run` for a pair of the family without complete runs."""
    if row["verdict"] == NOT_RUN:
        return NOT_RUN
    if row["verdict"] == SUMMARY_ONLY:
        return f"{row['mean_diff'] * 100:+.2f} pp, {SUMMARY_ONLY}"
    cell = f"{row['mean_diff'] * 100:+.2f} pp, {row['verdict']} ({row['wins']:.0f}/{row['folds']:.0f})"
    borderline = row.get("borderline", False)
    if pd.notna(borderline) and bool(borderline):  # NaN where a frame also holds pairs not judged
        cell += f", borderline ({row['alternative_verdict']} with the other n_train)"
    return cell


def verdicts_by_question(comparisons: pd.DataFrame, column: str, order: list[str]) -> Iterator[tuple[Question, pd.DataFrame]]:
    """Each research question with rows in `comparisons` (columns question, model, baseline, mean_diff,
    verdict, wins, folds, optionally borderline and alternative_verdict, and `column`), as a table: one row
    per pair, one column per value of `column` in `order`, cells from comparison_cell, a dash where a pair
    has no value."""
    for question in QUESTIONS:
        rows = comparisons[comparisons["question"] == question.key]
        if rows.empty:
            continue
        rows = rows.assign(pair=rows["model"] + " vs " + rows["baseline"],
                           cell=[comparison_cell(row) for _, row in rows.iterrows()])
        wide = rows.pivot(index="pair", columns=column, values="cell")
        yield question, wide.loc[list(dict.fromkeys(rows["pair"])), [c for c in order if c in wide.columns]].fillna("–")
