"""The metric code against a small example computed by hand."""

from __future__ import annotations

import math

import numpy as np
import pytest

from cnnlstm.core.errors import CnnLstmError
from cnnlstm.evaluation.metrics import classification_metrics, rounded


def hand_example() -> tuple[np.ndarray, np.ndarray]:
    """12 images: one of each class, then a T-shirt predicted as Trouser and a Trouser as T-shirt.
    Each row puts 0.8 on its predicted class and 0.2/9 on every other class."""
    labels = np.array([0, 1, 2, 3, 4, 5, 6, 7, 8, 9, 0, 1])
    predicted = np.array([0, 1, 2, 3, 4, 5, 6, 7, 8, 9, 1, 0])
    probs = np.full((12, 10), 0.2 / 9)
    probs[np.arange(12), predicted] = 0.8
    return labels, probs.astype(np.float32)


def test_metrics_match_hand_computed_values() -> None:
    m = classification_metrics(*hand_example())
    assert m["accuracy"] == rounded(10 / 12)
    assert m["f1_micro"] == rounded(10 / 12)
    # T-shirt and Trouser: 1 of 2 right, 1 of 2 predictions right -> precision = recall = F1 = 0.5.
    assert m["f1_macro"] == rounded((0.5 + 0.5 + 8) / 10)
    assert m["precision_macro"] == m["recall_macro"] == rounded(0.9)
    assert m["per_class"]["recall"]["T-shirt/top"] == 0.5
    assert m["per_class"]["precision"]["Trouser"] == 0.5
    assert m["per_class"]["recall"]["Bag"] == 1.0
    # T-shirt vs rest: positives score 0.8 and 0.2/9, negatives one 0.8 and nine 0.2/9:
    # (0.5 tie + 9 wins + 0 + 4.5 ties) / (2 * 10) pairs = 0.7.
    assert m["per_class"]["auroc"]["T-shirt/top"] == pytest.approx(0.7)
    assert m["per_class"]["auroc"]["Sandal"] == 1.0
    assert m["auroc_macro"] == pytest.approx((0.7 + 0.7 + 8) / 10)
    # 10 images get 0.8 for their true class, 2 get 0.2/9.
    assert m["log_loss"] == pytest.approx(-(10 * math.log(0.8) + 2 * math.log(0.2 / 9)) / 12, abs=1e-6)
    confusion = np.array(m["confusion_matrix"])
    assert confusion[0, :2].tolist() == [1, 1] and confusion[1, :2].tolist() == [1, 1]
    assert confusion.trace() == 10 and confusion.sum() == 12
    assert m["per_class"]["support"]["T-shirt/top"] == 2


def test_metrics_are_rounded_and_stable() -> None:
    labels, probs = hand_example()
    first, second = classification_metrics(labels, probs), classification_metrics(labels, probs.copy())
    assert first == second
    assert all(len(str(first[k]).split(".")[-1]) <= 6 for k in ("accuracy", "log_loss", "auroc_macro"))


def test_a_missing_class_is_a_clear_error() -> None:
    labels, probs = hand_example()
    keep = labels != 9
    with pytest.raises(CnnLstmError, match="Ankle boot"):
        classification_metrics(labels[keep], probs[keep], "results/x/fold0.npz")


def test_rounded_turns_non_finite_into_none() -> None:
    assert rounded(float("nan")) is None and rounded(float("inf")) is None
    assert rounded(0.12345678) == 0.123457
