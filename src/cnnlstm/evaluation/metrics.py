"""Quality metrics of one set of predicted probabilities, all computed by scikit-learn.

Floats are rounded to DIGITS so that the JSON of identical runs is bit-identical even when the
last bits of a float sum depend on thread scheduling.
"""

from __future__ import annotations

import math
from typing import Any

import numpy as np
from sklearn.metrics import (
    accuracy_score,
    confusion_matrix,
    f1_score,
    log_loss,
    precision_recall_fscore_support,
    roc_auc_score,
)

from cnnlstm.data.fashion_mnist import CLASSES
from cnnlstm.core.errors import CnnLstmError

DIGITS = 6
# Scalar metrics aggregated over folds; all but log_loss are better when higher.
SCALAR_METRICS = ("accuracy", "f1_macro", "f1_micro", "precision_macro", "recall_macro", "auroc_macro", "log_loss")


def rounded(value: float | None) -> float | None:
    """`value` rounded to DIGITS; NaN and infinities (not valid JSON) become None."""
    if value is None or not math.isfinite(value):
        return None
    return round(float(value), DIGITS)


def classification_metrics(labels: np.ndarray, probs: np.ndarray, source: str = "predictions") -> dict[str, Any]:
    """Accuracy, F1, precision, recall, one-vs-rest AUROC, log loss and the confusion matrix of
    (N,) integer `labels` and (N, 10) class `probs`. Per-class values are keyed by class name;
    confusion_matrix rows are true classes, columns predicted, in CLASSES order."""
    classes = np.arange(len(CLASSES))
    probs = np.asarray(probs, dtype=np.float64)
    probs = probs / probs.sum(axis=1, keepdims=True)  # float32 softmax sums to 1 only within ~1e-7
    predicted = probs.argmax(axis=1)
    precision, recall, _, support = precision_recall_fscore_support(
        labels, predicted, labels=classes, zero_division=0
    )
    missing = [CLASSES[k] for k in classes if support[k] == 0]
    if missing:
        raise CnnLstmError(f"{source}: no image of class {missing[0]!r}; one-vs-rest AUROC needs every class")
    auroc = roc_auc_score(labels, probs, multi_class="ovr", average=None, labels=classes)
    scalars = {
        "accuracy": accuracy_score(labels, predicted),
        "f1_macro": f1_score(labels, predicted, labels=classes, average="macro", zero_division=0),
        "f1_micro": f1_score(labels, predicted, labels=classes, average="micro", zero_division=0),
        "precision_macro": precision.mean(),
        "recall_macro": recall.mean(),
        "auroc_macro": roc_auc_score(labels, probs, multi_class="ovr", average="macro", labels=classes),
        "log_loss": log_loss(labels, probs, labels=classes),
    }
    return {
        **{name: rounded(value) for name, value in scalars.items()},
        "per_class": {
            "precision": dict(zip(CLASSES, map(rounded, precision))),
            "recall": dict(zip(CLASSES, map(rounded, recall))),
            "auroc": dict(zip(CLASSES, map(rounded, auroc))),
            "support": dict(zip(CLASSES, map(int, support))),
        },
        "confusion_matrix": confusion_matrix(labels, predicted, labels=classes).tolist(),
        "images": len(labels),
    }
