"""The pre-registered analysis on hand-made per-fold data: a verdict that flips between the two n_train
choices is borderline, pairs not run keep the family's size, and the primary pair is judged unadjusted."""

from __future__ import annotations

import math

import numpy as np
import pytest
from scipy import stats

from cnnlstm.core.params import AnalysisParams
from cnnlstm.study.analysis import judge_families, judge_primary
from cnnlstm.study.pairs import Pair
from cnnlstm.study.runs import FoldSizes

D = np.array([0.01, 0.02, 0.015, 0.005, 0.03])  # mean 0.016, sample variance 92.5e-6, 5 folds
SIZES = FoldSizes(heldout=1, training_part=9, fitted=3)  # n_test / n_train: 1/9 or 1/3
ANALYSIS = AnalysisParams(primary=("m", "b"), ttest_train_size="fitted", main_models=("m", "b"), seeds=(0,),
                          convergence_epochs=15, convergence_tolerance=0.0025)
SCORES = {"b": {"accuracy": np.full(5, 0.9)}, "m": {"accuracy": 0.9 + D}}


def p_by_hand(ratio: float) -> float:
    return 2 * stats.t.sf(0.016 / math.sqrt((1 / 5 + ratio) * 92.5e-6), df=4)


def test_the_hand_values_straddle_alpha() -> None:
    assert p_by_hand(1 / 3) == pytest.approx(0.0848, abs=1e-3) and p_by_hand(1 / 9) == pytest.approx(0.0407, abs=1e-3)


def test_a_verdict_that_flips_with_n_train_is_borderline() -> None:
    judged, info = judge_families([Pair("q", "m", "b")], SCORES, SIZES, ANALYSIS, 0.005, ("accuracy",))
    s = judged["q"]["m-vs-b"]["accuracy"]
    assert s["p_ttest"] == pytest.approx(p_by_hand(1 / 3), abs=1e-6)  # fitted: the pre-registered choice
    assert s["alternative_p_ttest_holm"] == pytest.approx(p_by_hand(1 / 9), abs=1e-6)
    assert (s["verdict"], s["alternative_verdict"], s["borderline"]) == ("inconclusive", "better", True)
    assert info == {"q": {"pairs": 1, "judged": 1, "not_run": []}}


def test_pairs_not_run_count_with_p_one_so_the_family_never_shrinks() -> None:
    pairs = [Pair("q", "m", "b"), Pair("q", "x", "b"), Pair("r", "x", "m")]
    judged, info = judge_families(pairs, SCORES, SIZES, ANALYSIS, 0.005, ("accuracy",))
    s = judged["q"]["m-vs-b"]["accuracy"]
    assert s["family"] == 2 and s["p_ttest_holm"] == pytest.approx(min(1, 2 * p_by_hand(1 / 3)), abs=1e-5)
    assert s["alternative_p_ttest_holm"] == pytest.approx(2 * p_by_hand(1 / 9), abs=1e-5)  # 0.081: no flip now
    assert not s["borderline"]
    assert info["q"]["not_run"] == ["x-vs-b"] and "r" not in judged and info["r"] == {"pairs": 1, "judged": 0,
                                                                                     "not_run": ["x-vs-m"]}


def test_the_primary_pair_is_unadjusted_and_not_run_without_its_models() -> None:
    pairs = [Pair("q", "m", "b"), Pair("q", "x", "b")]
    primary = judge_primary(pairs, SCORES, SIZES, ANALYSIS, 0.005)
    assert primary["p_ttest"] == pytest.approx(p_by_hand(1 / 3), abs=1e-6)  # raw, although the family has 2
    assert (primary["verdict"], primary["borderline"], primary["alternative_verdict"]) == ("inconclusive", True, "better")
    assert (primary["question"], primary["adjusted"], primary["alpha"]) == ("q", False, 0.05)
    assert judge_primary(pairs, {"m": SCORES["m"]}, SIZES, ANALYSIS, 0.005)["verdict"] == "not run"


def test_the_comparisons_table_labels_a_borderline_verdict() -> None:
    import pandas as pd

    from cnnlstm.study.tables import comparison_markdown

    judged, _ = judge_families([Pair("lstm_vs_cnn", "m", "b")], SCORES, SIZES, ANALYSIS, 0.005, ("accuracy",))
    entry = judged["lstm_vs_cnn"]["m-vs-b"]
    row = {"question": "lstm_vs_cnn", "model": "m", "baseline": "b", "metric": "accuracy", **entry["accuracy"]}
    text = comparison_markdown(pd.DataFrame([row]))
    assert "| inconclusive, borderline (better with the other n_train) |" in text
