"""Fixed, stratified subsets of the official test set: the same images for every model and fold."""

from __future__ import annotations

import numpy as np
from sklearn.model_selection import train_test_split

SEED = 0  # a constant, not a parameter: every run must evaluate the very same images


def test_subset(labels: np.ndarray, fraction: float) -> np.ndarray:
    """Sorted indices of a stratified `fraction` of the test set (all of it when fraction is 1)."""
    index = np.arange(len(labels))
    if fraction >= 1.0:
        return index
    subset, _ = train_test_split(index, train_size=fraction, stratify=labels, random_state=SEED)
    return np.sort(subset)


def per_class_sample(labels: np.ndarray, per_class: int) -> np.ndarray:
    """Sorted indices of `per_class` images of each class (fewer if a class has fewer), drawn
    with a fixed seed: the t-SNE sample, identical for every model and fold."""
    rng = np.random.default_rng(SEED)
    chosen = []
    for label in np.unique(labels):
        members = np.flatnonzero(labels == label)
        chosen.append(rng.choice(members, size=min(per_class, len(members)), replace=False))
    return np.sort(np.concatenate(chosen)) if chosen else np.empty(0, dtype=np.int64)
