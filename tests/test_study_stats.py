"""Holm, TOST, the repeated-CV corrected t-test, the fold/seed variance split, the binomial test against
a reference and the verdicts, each against a hand computation or synthetic data with a known answer."""

from __future__ import annotations

import math

import numpy as np
import pytest
from scipy import stats

from cnnlstm.study.stats import (
    accuracy_vs_reference, corrected_ttest, holm, repeated_cv_ttest, tost_p, variance_components,
)
from cnnlstm.study.judging import judge_question

D = np.array([0.01, 0.02, 0.015, 0.005, 0.03])  # mean 0.016, sample variance 92.5e-6
SE = math.sqrt((1 / 5 + 1 / 9) * 92.5e-6)  # corrected standard error for 10-fold sizes (n_test/n_train = 1/9)


def test_holm_matches_hand_computation() -> None:
    # sorted 0.005, 0.01, 0.03, 0.04 -> x4, x3, x2, x1 = 0.02, 0.03, 0.06, 0.04 -> monotone: 0.02, 0.03, 0.06, 0.06
    assert holm([0.01, 0.04, 0.03, 0.005]) == pytest.approx([0.03, 0.06, 0.06, 0.02])
    assert holm([0.5, 0.9]) == pytest.approx([1.0, 1.0])  # capped at 1
    assert holm([0.02]) == [0.02]


def test_holm_leaves_untestable_pairs_out_of_the_family() -> None:
    adjusted = holm([0.01, None, math.nan, 0.04])
    assert adjusted[1] is None and adjusted[2] is None
    assert adjusted[0] == pytest.approx(0.02) and adjusted[3] == pytest.approx(0.04)  # family of 2, not 4


def test_tost_matches_hand_computation() -> None:
    # margin 0.03: the upper one-sided test dominates, t = (0.016 - 0.03) / SE with 4 degrees of freedom
    assert tost_p(D, 9, 1, 0.03) == pytest.approx(stats.t.cdf((0.016 - 0.03) / SE, df=4))
    assert tost_p(-D, 9, 1, 0.03) == pytest.approx(tost_p(D, 9, 1, 0.03))  # symmetric in the sign


@pytest.mark.parametrize("margin", [0.005, 0.02, 0.025, 0.03, 0.05])
def test_tost_is_equivalent_exactly_when_the_90_percent_interval_lies_inside_the_margin(margin: float) -> None:
    interval = corrected_ttest(D, 9, 1, confidence=0.90)
    inside = -margin < interval.ci_low and interval.ci_high < margin
    assert (tost_p(D, 9, 1, margin) < 0.05) == inside


def test_tost_without_spread_depends_only_on_the_margin() -> None:
    assert tost_p(np.full(5, 0.001), 9, 1, 0.005) == 0.0
    assert tost_p(np.full(5, 0.01), 9, 1, 0.005) == 1.0


def test_repeated_cv_ttest_matches_bouckaert_frank_by_hand() -> None:
    d = np.array([[0.01, 0.02, 0.0], [0.015, 0.005, 0.03]])  # r = 2 repetitions x k = 3 folds
    result = repeated_cv_ttest(d, n_train=2, n_test=1)
    flat = d.ravel()
    t = flat.mean() / math.sqrt((1 / 6 + 1 / 2) * flat.var(ddof=1))
    assert result.t == pytest.approx(t)
    assert result.p == pytest.approx(2 * stats.t.sf(abs(t), df=5))  # k r - 1 degrees of freedom


def test_repeated_cv_ttest_with_one_repetition_is_the_corrected_ttest() -> None:
    assert repeated_cv_ttest(D[None, :], 9, 1) == pytest.approx(corrected_ttest(D, 9, 1))
    with pytest.raises(ValueError):
        repeated_cv_ttest(D, 9, 1)


def test_variance_components_by_hand() -> None:
    # fold means 2 and 6: MS_between = 2 * 8 = 16; within variances 2 and 2: MS_within = 2; fold = (16 - 2) / 2
    parts = variance_components(np.array([[1.0, 3.0], [5.0, 7.0]]))
    assert (parts.fold, parts.seed, parts.fold_share) == pytest.approx((7.0, 2.0, 7 / 9))


def test_variance_components_recover_known_fold_and_seed_noise() -> None:
    rng = np.random.default_rng(0)
    folds, seeds, fold_sd, seed_sd = 400, 3, 0.004, 0.002
    values = 0.9 + rng.normal(0, fold_sd, (folds, 1)) + rng.normal(0, seed_sd, (folds, seeds))
    parts = variance_components(values)
    assert parts.fold == pytest.approx(fold_sd**2, rel=0.15)
    assert parts.seed == pytest.approx(seed_sd**2, rel=0.1)
    assert parts.fold_share == pytest.approx(0.8, abs=0.05)


def test_variance_components_without_fold_effect_clip_to_zero() -> None:
    values = np.random.default_rng(1).normal(0.9, 0.002, (300, 3))  # seed noise only
    parts = variance_components(values)
    assert parts.fold < 0.1 * parts.seed
    assert variance_components(np.array([[1.0, 1.2], [1.2, 1.0]])).fold == 0.0  # negative estimate clipped


def test_accuracy_vs_reference_is_scipys_exact_binomial() -> None:
    test = accuracy_vs_reference(9079, 10_000, 0.8846)
    reference = stats.binomtest(9079, 10_000, 0.8846)
    assert test.accuracy == pytest.approx(0.9079) and test.p == pytest.approx(reference.pvalue)
    assert test.ci_low < 0.9079 < test.ci_high and test.ci_low > 0.8846 and test.p < 0.001
    assert accuracy_vs_reference(8846, 10_000, 0.8846).p == pytest.approx(1.0, abs=0.02)


def _pair(p_ttest: float | None, p_tost: float, mean: float) -> dict:
    stat = {"p_ttest": p_ttest, "p_wilcoxon": 0.002, "p_tost": p_tost, "mean_diff": mean}
    return {"model": "m", "baseline": "b", "accuracy": stat}


def test_judge_question_adjusts_within_the_question_and_decides() -> None:
    pairs = {"a": _pair(0.02, 0.9, 0.004), "b": _pair(0.001, 0.9, -0.01), "c": _pair(0.4, 0.01, 0.001),
             "d": _pair(None, 0.5, 0.0)}
    judged = judge_question(pairs, ("accuracy", "f1_macro"))
    got = {key: entry["accuracy"] for key, entry in judged.items()}
    # t-test family of 3 (d is untestable): 0.001 x3, 0.02 x2, 0.4 x1 -> 0.003, 0.04, 0.4
    assert [got[k]["p_ttest_holm"] for k in "abcd"] == pytest.approx([0.04, 0.003, 0.4, None])
    assert [got[k]["verdict"] for k in "abcd"] == ["better", "worse", "equivalent", "inconclusive"]
    # the TOST family has 4 members: 0.01 x4 = 0.04 < 0.05, so c is within the margin
    assert got["c"]["p_tost_holm"] == pytest.approx(0.04) and got["c"]["within_margin"]
    assert pairs["a"]["accuracy"].keys() == {"p_ttest", "p_wilcoxon", "p_tost", "mean_diff"}  # input untouched


def test_a_significant_p_after_holm_is_needed_not_a_raw_one() -> None:
    pairs = {key: _pair(0.03, 0.9, 0.004) for key in "abc"}  # raw p 0.03 each, Holm 0.09
    judged = judge_question(pairs, ("accuracy",))
    assert {entry["accuracy"]["verdict"] for entry in judged.values()} == {"inconclusive"}
