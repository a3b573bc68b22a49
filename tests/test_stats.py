"""The corrected resampled t-test and the Wilcoxon test against known values."""

from __future__ import annotations

import math
import warnings

import numpy as np
import pytest
from scipy import stats

from cnnlstm.study.stats import cohens_dz, corrected_ttest, paired_comparison, wilcoxon_p

D = np.array([0.01, 0.02, 0.015, 0.005, 0.03])


def test_corrected_ttest_matches_hand_computation() -> None:
    # mean 0.016; sample variance 370e-6 / 4 = 92.5e-6; 10-fold sizes: n_test/n_train = 1/9;
    # corrected variance (1/5 + 1/9) * 92.5e-6; t = 0.016 / sqrt(that) = 2.98257.
    result = corrected_ttest(D, n_train=9, n_test=1)
    se = math.sqrt((1 / 5 + 1 / 9) * 92.5e-6)
    assert result.mean == pytest.approx(0.016)
    assert result.t == pytest.approx(2.98257, abs=1e-5)
    assert result.p == pytest.approx(2 * stats.t.sf(0.016 / se, df=4))
    half = stats.t.ppf(0.975, df=4) * se
    assert (result.ci_low, result.ci_high) == pytest.approx((0.016 - half, 0.016 + half))


def test_without_correction_it_is_scipys_paired_t_test() -> None:
    result = corrected_ttest(D, n_train=1, n_test=0)
    reference = stats.ttest_1samp(D, 0.0)
    assert result.t == pytest.approx(reference.statistic)
    assert result.p == pytest.approx(reference.pvalue)


def test_correction_widens_the_interval() -> None:
    plain, corrected = corrected_ttest(D, 1, 0), corrected_ttest(D, 9, 1)
    assert corrected.p > plain.p
    assert corrected.ci_high - corrected.ci_low > plain.ci_high - plain.ci_low


def test_interval_excludes_zero_exactly_when_significant() -> None:
    for scale in (0.2, 0.5, 1.0, 2.0):
        result = corrected_ttest(D - 0.01 * scale, 9, 1)
        assert (result.p < 0.05) == (result.ci_low > 0 or result.ci_high < 0)


def test_identical_differences_are_not_called_significant() -> None:
    assert corrected_ttest(np.zeros(4), 9, 1).p == 1.0
    assert math.isnan(corrected_ttest(np.full(4, 0.01), 9, 1).p)  # no variance: untestable, not p = 0


def test_wilcoxon_matches_scipy_and_the_exact_value() -> None:
    assert wilcoxon_p(D) == pytest.approx(2 / 2**5)  # all 5 differences positive: exact two-sided p
    mixed = np.array([0.01, -0.02, 0.015, 0.005, 0.03, -0.001, 0.012])
    assert wilcoxon_p(mixed) == pytest.approx(stats.wilcoxon(mixed).pvalue)
    assert wilcoxon_p(np.zeros(5)) == 1.0


@pytest.mark.parametrize("folds", [2, 5, 10, 13, 14])
def test_wilcoxon_with_ties_and_zeros_equals_scipys_p_exactly(folds: int) -> None:
    """Accuracy differences over folds tie often (multiples of 1/n_images); up to 13 folds
    wilcoxon_p runs scipy's permutation test itself (vectorized), beyond that scipy's normal approximation."""
    rng = np.random.default_rng(folds)
    for _ in range(4):
        d = rng.integers(-3, 4, size=folds) / 1000  # ties, and zeros
        d[0], d[1] = 0.002, -0.002  # at least one tie, never all zero
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            expected = stats.wilcoxon(d).pvalue
        assert wilcoxon_p(d) == expected, d  # equal, not approximately: the committed study's p-values stay


def test_cohens_dz() -> None:
    assert cohens_dz(D) == pytest.approx(0.016 / math.sqrt(92.5e-6))
    assert math.isnan(cohens_dz(np.full(3, 0.01)))


def test_paired_comparison_reports_direction_and_counts() -> None:
    baseline = np.array([0.90, 0.91, 0.89, 0.90, 0.92])
    result = paired_comparison(baseline + D, baseline, n_train=9, n_test=1, margin=0.005)
    assert result["mean_diff"] == pytest.approx(0.016)
    assert (result["wins"], result["losses"], result["folds"]) == (5, 0, 5)
    assert result["ci95_low"] < result["mean_diff"] < result["ci95_high"]
    flipped = paired_comparison(baseline, baseline + D, n_train=9, n_test=1, margin=0.005)
    assert flipped["mean_diff"] == pytest.approx(-0.016) and flipped["p_ttest"] == result["p_ttest"]
