"""The epoch-selection hold-out (training/holdout.py): stratified, disjoint, reproducible."""

from __future__ import annotations

import numpy as np

from cnnlstm.training.holdout import stratified_holdout


def test_holdout_is_stratified_disjoint_and_seeded():
    rng = np.random.default_rng(0)
    indices = np.sort(rng.choice(10_000, size=3_000, replace=False))
    labels = rng.integers(0, 10, size=len(indices))
    kept, held = stratified_holdout(indices, labels, 0.05, seed=3)
    assert np.array_equal(np.sort(np.concatenate([kept, held])), indices) and not np.intersect1d(kept, held).size
    label_of = dict(zip(indices, labels))
    for c in range(10):
        count = int(np.sum(labels == c))
        assert sum(label_of[i] == c for i in held) == int(0.05 * count + 0.5) >= int(0.05 * count)
    again = stratified_holdout(indices, labels, 0.05, seed=3)
    assert np.array_equal(again[1], held) and not np.array_equal(stratified_holdout(indices, labels, 0.05, 4)[1], held)
    assert np.all(np.diff(kept) > 0) and np.all(np.diff(held) > 0)
