"""Paired statistics across cross-validation folds.

Fold scores are not independent (the training parts overlap), so a plain paired t-test is
overconfident. The corrected resampled t-test (Nadeau & Bengio 2003, "Inference for the
generalization error") inflates the variance of the mean difference from var/k to
(1/k + n_test/n_train) * var. The Wilcoxon signed-rank test is the assumption-light check.
Equivalence is tested with TOST under the same corrected variance; p-values of one question's
pairs are Holm-adjusted. For repeated cross-validation (several seeds or re-splits per fold), the
corrected repeated k-fold t-test of Bouckaert & Frank (2004) and a one-way random-effects split of
the variance into fold and seed components.
"""

from __future__ import annotations

import math
import warnings
from collections.abc import Sequence
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


def _corrected_se(d: np.ndarray, n_train: float, n_test: float) -> float:
    """Standard error of the mean of `d` under the Nadeau-Bengio correction."""
    return math.sqrt((1 / len(d) + n_test / n_train) * d.var(ddof=1))


def corrected_ttest(differences: np.ndarray, n_train: float, n_test: float, confidence: float = 0.95) -> TTest:
    """Corrected resampled t-test of `differences` (one per fold) against 0, with a
    `confidence` interval of the mean difference; n_train/n_test: sizes of a fold's two parts."""
    d = np.asarray(differences, dtype=np.float64)
    k = len(d)
    if k < 2:
        raise ValueError("the corrected t-test needs at least 2 folds")
    mean = float(d.mean())
    se = _corrected_se(d, n_train, n_test)
    if se == 0:  # the same difference on every fold: no variance to test against
        return TTest(mean, math.nan, 1.0 if mean == 0 else math.nan, mean, mean)
    t = mean / se
    half = stats.t.ppf(0.5 + confidence / 2, df=k - 1) * se
    return TTest(mean, t, float(2 * stats.t.sf(abs(t), df=k - 1)), mean - half, mean + half)


def tost_p(differences: np.ndarray, n_train: float, n_test: float, margin: float) -> float:
    """p-value of two one-sided tests (Schuirmann 1987) that the mean difference lies inside
    (-margin, +margin), with the corrected variance: small p means "equivalent within the margin".
    p < alpha exactly when the corrected (1 - 2 alpha) interval lies inside the margin."""
    d = np.asarray(differences, dtype=np.float64)
    mean, se, df = float(d.mean()), _corrected_se(d, n_train, n_test), len(d) - 1
    if se == 0:  # no spread: the difference is known, inside the margin or not
        return 0.0 if abs(mean) < margin else 1.0
    p_above_lower = stats.t.sf((mean + margin) / se, df)  # H0: mean <= -margin
    p_below_upper = stats.t.cdf((mean - margin) / se, df)  # H0: mean >= +margin
    return float(max(p_above_lower, p_below_upper))


def holm(p_values: Sequence[float | None]) -> list[float | None]:
    """Holm (1979) step-down adjusted p-values, in the input order; an undefined p (None or NaN:
    no variance) is no test, so it stays undefined and does not enlarge the family."""
    tested = [(p, i) for i, p in enumerate(p_values) if p is not None and not math.isnan(p)]
    adjusted: list[float | None] = [None] * len(p_values)
    running = 0.0
    for rank, (p, i) in enumerate(sorted(tested)):
        running = max(running, min(1.0, (len(tested) - rank) * p))  # keeps the adjusted p monotone
        adjusted[i] = running
    return adjusted


# scipy.stats.wilcoxon's exact sign-flip permutation test, used with ties or zeros, holds every sign
# pattern when there are at most this many differences (2**13 <= its 9999 resamples).
EXACT_PERMUTATION_MAX_N = 13


def wilcoxon_p(differences: np.ndarray) -> float:
    """Two-sided p-value of the Wilcoxon signed-rank test, equal to scipy.stats.wilcoxon's.
    Without ties or zeros scipy computes it exactly. With them, for few folds, scipy runs an exact
    sign-flip permutation test, but calls the statistic once per sign pattern (1,024 Python calls for
    10 folds, 15 s of the smoke run's budget stage); here the same scipy.stats.permutation_test gets the
    same statistic vectorized. Zeros are dropped from the ranks (scipy's default zero_method 'wilcox');
    the ranks of |d| do not change under sign flips, so they are computed once."""
    d = np.asarray(differences, dtype=np.float64)
    if not d.any():
        return 1.0
    nonzero = d != 0
    magnitudes = np.abs(d[nonzero])
    tied_or_zero = not nonzero.all() or len(np.unique(magnitudes)) < len(magnitudes)
    if tied_or_zero and len(d) <= EXACT_PERMUTATION_MAX_N:
        ranks = np.zeros_like(d)
        ranks[nonzero] = stats.rankdata(magnitudes)

        def positive_rank_sum(signed: np.ndarray, axis: int) -> np.ndarray:
            return np.sum((signed > 0) * ranks, axis=axis)

        return float(stats.permutation_test((d,), positive_rank_sum, permutation_type="samples",
                                            vectorized=True, alternative="two-sided").pvalue)
    with warnings.catch_warnings():  # scipy warns when ties force the normal approximation (many folds)
        warnings.simplefilter("ignore")
        return float(stats.wilcoxon(d).pvalue)


def cohens_dz(differences: np.ndarray) -> float:
    """Standardised mean difference of paired scores: mean / standard deviation of the differences."""
    d = np.asarray(differences, dtype=np.float64)
    sd = d.std(ddof=1)
    return float(d.mean() / sd) if sd > 0 else math.nan


def paired_comparison(
    scores: np.ndarray, baseline: np.ndarray, n_train: float, n_test: float, margin: float
) -> dict[str, Any]:
    """Every statistic of `scores - baseline` over folds (positive: `scores` is higher), rounded;
    p_tost tests equivalence within +-`margin` (the metric's units)."""
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
        "p_tost": rounded(tost_p(d, n_train, n_test, margin)),
        "cohens_dz": rounded(cohens_dz(d)),
        "wins": int((d > 0).sum()),
        "losses": int((d < 0).sum()),
        "folds": len(d),
    }


def repeated_cv_ttest(differences: np.ndarray, n_train: float, n_test: float, confidence: float = 0.95) -> TTest:
    """Corrected repeated k-fold cross-validation t-test (Bouckaert & Frank 2004) of `differences`,
    shape (r, k): r repetitions (seeds or re-splits) x k folds. The variance over all r*k
    differences is inflated to (1/(k r) + n_test/n_train) * var, with k r - 1 degrees of freedom;
    with r = 1 it is the corrected resampled t-test."""
    d = np.asarray(differences, dtype=np.float64)
    if d.ndim != 2 or d.size < 2:
        raise ValueError(f"repeated_cv_ttest needs an (r, k) array of at least 2 values, got shape {d.shape}")
    return corrected_ttest(d.ravel(), n_train, n_test, confidence)


class VarianceComponents(NamedTuple):
    fold: float  # between-fold variance of the true per-fold value (which images are held out)
    seed: float  # within-fold variance: initialisation, data order and augmentation noise
    fold_share: float  # fold / (fold + seed); NaN when both are 0


def variance_components(values: np.ndarray) -> VarianceComponents:
    """One-way random-effects ANOVA of `values`, shape (k, r): k folds x r seeds per fold (r >= 2).
    seed = MS_within; fold = max(0, (MS_between - MS_within) / r), the method-of-moments estimate
    (clipped at 0: a negative estimate means no fold effect is visible above the seed noise)."""
    x = np.asarray(values, dtype=np.float64)
    if x.ndim != 2 or x.shape[0] < 2 or x.shape[1] < 2:
        raise ValueError(f"variance_components needs a (folds >= 2, seeds >= 2) array, got shape {x.shape}")
    r = x.shape[1]
    ms_between = float(r * x.mean(axis=1).var(ddof=1))
    ms_within = float(x.var(axis=1, ddof=1).mean())
    fold = max(0.0, (ms_between - ms_within) / r)
    total = fold + ms_within
    return VarianceComponents(fold, ms_within, fold / total if total > 0 else math.nan)


class BinomialTest(NamedTuple):
    accuracy: float
    ci_low: float  # exact (Clopper-Pearson) interval
    ci_high: float
    p: float  # two-sided exact binomial test against the reference accuracy


def accuracy_vs_reference(correct: int, total: int, reference: float, confidence: float = 0.95) -> BinomialTest:
    """Test-set accuracy `correct / total` against a fixed reference accuracy measured on the same
    test set. It treats the reference as exact, so it understates the uncertainty of the comparison."""
    result = stats.binomtest(correct, total, reference)
    ci = result.proportion_ci(confidence, method="exact")
    return BinomialTest(correct / total, float(ci.low), float(ci.high), float(result.pvalue))
