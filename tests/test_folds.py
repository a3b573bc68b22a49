"""Stratified folds over the real training labels: disjoint, complete, balanced, reproducible."""

from __future__ import annotations

import numpy as np
import pytest

from cnnlstm.data.fashion_mnist import load_split
from cnnlstm.data.folds import UNUSED, assign_folds, fold_indices, load_folds, save_folds
from cnnlstm.data.source import find_source
from cnnlstm.core.errors import CnnLstmError


@pytest.fixture(scope="module")
def real_labels() -> np.ndarray:
    folder = find_source(None)
    if folder is None:
        pytest.skip("no local Fashion-MNIST copy")
    return load_split(folder, "train").labels


def test_ten_folds_are_disjoint_complete_and_stratified(real_labels):
    assignment = assign_folds(real_labels, 10, seed=7)
    assert len(assignment) == 60000 and set(np.unique(assignment)) == set(range(10))  # every image once
    counts = np.zeros((10, 10), int)
    np.add.at(counts, (assignment, real_labels), 1)
    assert np.all(np.abs(counts - 600) <= 1), counts
    train, held_out = fold_indices(assignment, 3)
    assert len(np.intersect1d(train, held_out)) == 0 and len(train) + len(held_out) == 60000


def test_same_seed_same_bytes_other_seed_differs(real_labels, tmp_path):
    for name, seed in (("a", 1), ("b", 1), ("c", 2)):
        save_folds(tmp_path / f"{name}.npy", assign_folds(real_labels, 10, seed))
    assert (tmp_path / "a.npy").read_bytes() == (tmp_path / "b.npy").read_bytes()
    assert (tmp_path / "a.npy").read_bytes() != (tmp_path / "c.npy").read_bytes()


def test_subset_is_stratified_and_leaves_the_rest_unused(real_labels):
    assignment = assign_folds(real_labels, 2, seed=0, subset=0.05)
    used = assignment != UNUSED
    assert used.sum() == 3000
    assert np.bincount(real_labels[used]).tolist() == [300] * 10


def test_more_folds_than_smallest_class():
    labels = np.array([0] * 5 + [1] * 3)
    with pytest.raises(CnnLstmError, match="cv.folds: 4 folds but the smallest class has only 3 images"):
        assign_folds(labels, 4, seed=0)


def test_fold_out_of_range_and_missing_file(tmp_path):
    assignment = assign_folds(np.arange(20) % 2, 2, seed=0)
    with pytest.raises(CnnLstmError, match="fold 5: out of range, the folds file has folds 0..1"):
        fold_indices(assignment, 5)
    with pytest.raises(CnnLstmError, match="folds.npy: folds file not found"):
        load_folds(tmp_path / "folds.npy")
