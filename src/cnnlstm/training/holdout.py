"""The epoch-selection slice of a fold's training part: a stratified random hold-out in NumPy
(scikit-learn's `train_test_split` cost the train stage ~1.4 s of imports for this one split)."""

from __future__ import annotations

import numpy as np


def stratified_holdout(
    indices: np.ndarray, labels: np.ndarray, fraction: float, seed: int
) -> tuple[np.ndarray, np.ndarray]:
    """(kept, held out) sorted parts of `indices`, whose labels are `labels`: of each class,
    round(fraction x its count) images are held out, drawn with `seed` (at least
    floor(fraction x count), which core/params.py's subset check counts on)."""
    rng = np.random.default_rng(seed)
    held = [rng.permutation(indices[labels == c])[: int(fraction * np.sum(labels == c) + 0.5)]
            for c in np.unique(labels)]
    held_out = np.sort(np.concatenate(held))
    return np.setdiff1d(indices, held_out), held_out
