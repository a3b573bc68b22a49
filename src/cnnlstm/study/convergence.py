"""Tests across budget points, on the same folds (docs/preregistration.md): the convergence check (each
main model's paired held-out accuracy gain from `study.convergence_epochs` to `train.epochs`, and, as
Amendment 1 adds, from `train.epochs` to the extension's doubled budget) and the budget x model
interaction test (the per-fold change of a pair's difference between two points). Both use the
corrected resampled t-test; only points with per-fold files take part."""

from __future__ import annotations

import itertools

import numpy as np
import pandas as pd

from cnnlstm.core.params import Params
from cnnlstm.evaluation.metrics import rounded
from cnnlstm.study.analysis import alternative_size
from cnnlstm.study.budget_points import BudgetPoint
from cnnlstm.study.conditions import recipe
from cnnlstm.study.extension import extension_epochs
from cnnlstm.study.pairs import comparison_pairs
from cnnlstm.study.stats import corrected_ttest
from cnnlstm.study.verdicts import below_alpha

INTERACTION_COLUMNS = ["point_a", "point_b", "same_recipe", "question", "model", "baseline", "diff_a", "diff_b",
                       "change", "ci95_low", "ci95_high", "p_ttest", "p_ttest_alternative", "borderline", "folds"]
CONVERGENCE_COLUMNS = ["model", "point_short", "point_long", "epochs_short", "epochs_long", "accuracy_short",
                       "accuracy_long", "gain", "ci95_low", "ci95_high", "p_ttest", "tolerance", "converged", "folds"]


def checked_budgets(params: Params) -> list[tuple[int, int]]:
    """The (shorter, longer) budgets of each convergence check, in order: the pre-registered one, then the
    extension's."""
    epochs = params.train.epochs
    return [(params.analysis.convergence_epochs, epochs), (epochs, extension_epochs(epochs))]


def _paired_points(points: dict[str, BudgetPoint]) -> list[tuple[BudgetPoint, BudgetPoint]]:
    """Every (fewer epochs, more epochs) pair of points with per-fold files on the same fold split."""
    kept = [p for p in points.values() if p.runs is not None]
    return [(a, b) for a, b in itertools.combinations(kept, 2)
            if a.epochs < b.epochs and a.summary["folds_sha256"] == b.summary["folds_sha256"]]


def interaction_table(points: dict[str, BudgetPoint], params: Params) -> pd.DataFrame:
    """Per pair of points and per fixed-family pair whose models are complete at both: the corrected t-test
    of (model - baseline at b) - (model - baseline at a) fold by fold, under the pre-registered n_train (at
    point b) and the alternative; `borderline` when the two disagree on significance. Unadjusted."""
    choice = params.analysis.ttest_train_size
    rows = []
    for a, b in _paired_points(points):
        at_a, at_b = a.runs.complete(), b.runs.complete()
        sizes = b.runs.sizes()
        for pair in comparison_pairs(params):
            if not all(m in at_a and m in at_b for m in (pair.model, pair.baseline)):
                continue
            diff_a, diff_b = at_a[pair.model] - at_a[pair.baseline], at_b[pair.model] - at_b[pair.baseline]
            test, alt = (corrected_ttest(diff_b - diff_a, sizes.n_train(c), sizes.heldout)
                         for c in (choice, alternative_size(choice)))
            rows.append({"point_a": a.name, "point_b": b.name,
                         "same_recipe": recipe(a.summary["conditions"]) == recipe(b.summary["conditions"]),
                         "question": pair.question, "model": pair.model, "baseline": pair.baseline,
                         "diff_a": rounded(diff_a.mean()), "diff_b": rounded(diff_b.mean()),
                         "change": rounded(test.mean), "ci95_low": rounded(test.ci_low),
                         "ci95_high": rounded(test.ci_high), "p_ttest": rounded(test.p),
                         "p_ttest_alternative": rounded(alt.p), "borderline": below_alpha(test.p) != below_alpha(alt.p),
                         "folds": len(diff_a)})
    return pd.DataFrame(rows, columns=INTERACTION_COLUMNS)


def convergence_table(points: dict[str, BudgetPoint], params: Params) -> pd.DataFrame:
    """Per check of `checked_budgets` and per main model complete at both its points (of one recipe): the
    mean paired gain with its corrected 95% interval; converged when the gain is below
    `study.convergence_tolerance`."""
    analysis, checks = params.analysis, checked_budgets(params)
    rows = []
    for short, long in _paired_points(points):
        if (short.epochs, long.epochs) not in checks:
            continue
        if recipe(short.summary["conditions"]) != recipe(long.summary["conditions"]):
            continue
        at_short, at_long, sizes = short.runs.complete(), long.runs.complete(), long.runs.sizes()
        for model in analysis.main_models:
            if model not in at_short or model not in at_long:
                continue
            gain = at_long[model] - at_short[model]
            test = corrected_ttest(gain, sizes.n_train(analysis.ttest_train_size), sizes.heldout)
            rows.append({"model": model, "point_short": short.name, "point_long": long.name,
                         "epochs_short": short.epochs, "epochs_long": long.epochs,
                         "accuracy_short": rounded(np.mean(at_short[model])),
                         "accuracy_long": rounded(np.mean(at_long[model])), "gain": rounded(test.mean),
                         "ci95_low": rounded(test.ci_low), "ci95_high": rounded(test.ci_high),
                         "p_ttest": rounded(test.p), "tolerance": analysis.convergence_tolerance,
                         "converged": bool(test.mean < analysis.convergence_tolerance), "folds": len(gain)})
    return pd.DataFrame(rows, columns=CONVERGENCE_COLUMNS)
