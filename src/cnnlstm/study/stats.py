"""Paired statistics across cross-validation folds.

Fold scores are not independent (the training parts overlap), so a plain paired t-test is
overconfident. The corrected resampled t-test (Nadeau & Bengio 2003, "Inference for the
generalization error") inflates the variance of the mean difference from var/k to
(1/k + n_test/n_train) * var. The Wilcoxon signed-rank test is the assumption-light check.
"""

from __future__ import annotations

import math
import warnings
from typing import Any, NamedTuple

import numpy as np
from scipy import stats

from cnnlstm.evaluation.metrics import rounded


class TTest(NamedTuple):
    mean: float  # mean difference
    t: float  # NaN when every fold shows the same difference
    p: float  # two-sided; NaN when every fold shows the same non-zero difference (untestable)
    ci_low: float
    ci_high: float


def corrected_ttest(differences: np.ndarray, n_train: float, n_test: float, confidence: float = 0.95) -> TTest:
    """Corrected resampled t-test of `differences` (one per fold) against 0, with a
    `confidence` interval of the mean difference; n_train/n_test: sizes of a fold's two parts."""
    d = np.asarray(differences, dtype=np.float64)
    k = len(d)
    if k < 2:
        raise ValueError("the corrected t-test needs at least 2 folds")
    mean = float(d.mean())
    se = math.sqrt((1 / k + n_test / n_train) * d.var(ddof=1))
    if se == 0:  # the same difference on every fold: no variance to test against
        return TTest(mean, math.nan, 1.0 if mean == 0 else math.nan, mean, mean)
    t = mean / se
    half = stats.t.ppf(0.5 + confidence / 2, df=k - 1) * se
    return TTest(mean, t, float(2 * stats.t.sf(abs(t), df=k - 1)), mean - half, mean + half)


def wilcoxon_p(differences: np.ndarray) -> float:
    """Two-sided p-value of the Wilcoxon signed-rank test (scipy; exact for few folds without ties)."""
    d = np.asarray(differences, dtype=np.float64)
    if not d.any():
        return 1.0
    with warnings.catch_warnings():  # scipy warns that ties force the normal approximation
        warnings.simplefilter("ignore")
        return float(stats.wilcoxon(d).pvalue)


def cohens_dz(differences: np.ndarray) -> float:
    """Standardised mean difference of paired scores: mean / standard deviation of the differences."""
    d = np.asarray(differences, dtype=np.float64)
    sd = d.std(ddof=1)
    return float(d.mean() / sd) if sd > 0 else math.nan


def paired_comparison(scores: np.ndarray, baseline: np.ndarray, n_train: float, n_test: float) -> dict[str, Any]:
    """Every statistic of `scores - baseline` over folds (positive: `scores` is higher), rounded."""
    d = np.asarray(scores, dtype=np.float64) - np.asarray(baseline, dtype=np.float64)
    test = corrected_ttest(d, n_train, n_test)
    return {
        "mean_diff": rounded(test.mean),
        "std_diff": rounded(d.std(ddof=1)),
        "ci95_low": rounded(test.ci_low),
        "ci95_high": rounded(test.ci_high),
        "t": rounded(test.t),
        "p_ttest": rounded(test.p),
        "p_wilcoxon": rounded(wilcoxon_p(d)),
        "cohens_dz": rounded(cohens_dz(d)),
        "wins": int((d > 0).sum()),
        "losses": int((d < 0).sum()),
        "folds": len(d),
    }
