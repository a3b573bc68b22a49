"""Amendment 2's precision check (docs/preregistration.md): two budget points of the same epochs, folds and
recipe but for the training precision (the study's bf16 and the fp32 arm). For the primary pair, each
model's paired held-out accuracy change and the per-fold change of the pair's difference, with the
corrected t-test and TOST within the study's margin; the precision is immaterial to the answer when that
TOST rejects. Only points with per-fold files take part."""

from __future__ import annotations

import itertools

import pandas as pd

from cnnlstm.core.params import Params
from cnnlstm.evaluation.metrics import rounded
from cnnlstm.study.analysis import alternative_size
from cnnlstm.study.budget_points import BudgetPoint
from cnnlstm.study.conditions import recipe
from cnnlstm.study.fp32_arm import ARM_PRECISION
from cnnlstm.study.stats import corrected_ttest, tost_p
from cnnlstm.study.verdicts import below_alpha

PRECISION_COLUMNS = ["point_a", "point_b", "precision_a", "precision_b", "epochs", "model", "baseline",
                     "model_change", "baseline_change", "diff_a", "diff_b", "change", "ci95_low", "ci95_high",
                     "p_ttest", "p_ttest_alternative", "p_tost", "p_tost_alternative", "borderline", "immaterial",
                     "folds"]


def _precision(point: BudgetPoint) -> str:
    return point.summary["conditions"]["train_precision"]


def _all_but_precision(point: BudgetPoint) -> str:
    return recipe(point.summary["conditions"] | {"train_precision": ""})


def precision_pairs(points: dict[str, BudgetPoint]) -> list[tuple[BudgetPoint, BudgetPoint]]:
    """Every (other precision, fp32 arm) pair of points with per-fold files, the same epochs and fold split,
    whose recipes differ in the training precision alone."""
    kept = [p for p in points.values() if p.runs is not None]
    pairs = []
    for a, b in itertools.permutations(kept, 2):
        if (_precision(b) == ARM_PRECISION != _precision(a) and a.epochs == b.epochs
                and a.summary["folds_sha256"] == b.summary["folds_sha256"]
                and _all_but_precision(a) == _all_but_precision(b)):
            pairs.append((a, b))
    return pairs


def precision_table(points: dict[str, BudgetPoint], params: Params) -> pd.DataFrame:
    """Per precision pair of points where the primary pair is complete at both: each model's mean paired
    accuracy change (b - a), and the corrected t-test and TOST (±`study.equivalence_margin`) of the per-fold
    change of the pair's difference, under the pre-registered n_train (at point b) and the alternative;
    `borderline` when the two disagree on either test's significance. Unadjusted."""
    model, baseline = params.analysis.primary
    choice, margin = params.analysis.ttest_train_size, params.equivalence_margin
    rows = []
    for a, b in precision_pairs(points):
        at_a, at_b = a.runs.complete(), b.runs.complete()
        if not all(m in at_a and m in at_b for m in (model, baseline)):
            continue
        diff_a, diff_b = at_a[model] - at_a[baseline], at_b[model] - at_b[baseline]
        change, sizes = diff_b - diff_a, b.runs.sizes()
        test, alt = (corrected_ttest(change, sizes.n_train(c), sizes.heldout) for c in (choice, alternative_size(choice)))
        tost, tost_alt = (tost_p(change, sizes.n_train(c), sizes.heldout, margin)
                          for c in (choice, alternative_size(choice)))
        rows.append({"point_a": a.name, "point_b": b.name, "precision_a": _precision(a),
                     "precision_b": _precision(b), "epochs": a.epochs, "model": model, "baseline": baseline,
                     "model_change": rounded((at_b[model] - at_a[model]).mean()),
                     "baseline_change": rounded((at_b[baseline] - at_a[baseline]).mean()),
                     "diff_a": rounded(diff_a.mean()), "diff_b": rounded(diff_b.mean()), "change": rounded(test.mean),
                     "ci95_low": rounded(test.ci_low), "ci95_high": rounded(test.ci_high), "p_ttest": rounded(test.p),
                     "p_ttest_alternative": rounded(alt.p), "p_tost": rounded(tost),
                     "p_tost_alternative": rounded(tost_alt),
                     "borderline": (below_alpha(test.p) != below_alpha(alt.p)
                                    or below_alpha(tost) != below_alpha(tost_alt)),
                     "immaterial": below_alpha(tost), "folds": len(change)})
    return pd.DataFrame(rows, columns=PRECISION_COLUMNS)
