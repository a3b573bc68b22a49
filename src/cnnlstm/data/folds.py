"""Stratified K-fold assignment of the training images, stored once and read by every stage."""

from __future__ import annotations

import hashlib
from pathlib import Path

import numpy as np

from cnnlstm.core.atomic import atomic_path
from cnnlstm.core.errors import CnnLstmError

UNUSED = -1  # images left out by cv.subset


def assign_folds(labels: np.ndarray, folds: int, seed: int, subset: float = 1.0) -> np.ndarray:
    """Fold id (0..folds-1) per image, stratified by class; UNUSED outside a stratified subset."""
    # Imported here: the train stage reads folds with this module and must not pay ~1.3 s for scikit-learn.
    from sklearn.model_selection import StratifiedKFold, train_test_split

    index = np.arange(len(labels))
    if subset < 1.0:
        index, _ = train_test_split(index, train_size=subset, stratify=labels, random_state=seed)
        index = np.sort(index)
    smallest = np.bincount(labels[index]).min() if len(index) else 0
    if folds > smallest:
        raise CnnLstmError(f"cv.folds: {folds} folds but the smallest class has only {smallest} images")
    assignment = np.full(len(labels), UNUSED, dtype=np.int8)
    splitter = StratifiedKFold(n_splits=folds, shuffle=True, random_state=seed)
    for fold, (_, held_out) in enumerate(splitter.split(index, labels[index])):
        assignment[index[held_out]] = fold
    return assignment


def save_folds(path: str | Path, assignment: np.ndarray) -> None:
    with atomic_path(path) as tmp:
        with tmp.open("wb") as fh:
            np.save(fh, assignment)


def load_folds(path: str | Path, n_images: int | None = None) -> np.ndarray:
    path = Path(path)
    try:
        assignment = np.load(path, allow_pickle=False)
    except FileNotFoundError:
        raise CnnLstmError(f"{path}: folds file not found; run `dvc repro split` first") from None
    except ValueError as exc:
        raise CnnLstmError(f"{path}: not a folds file ({exc})") from None
    if assignment.ndim != 1 or (n_images is not None and len(assignment) != n_images):
        raise CnnLstmError(f"{path}: folds file has shape {assignment.shape}, expected ({n_images},)")
    return assignment.astype(np.int64)


def file_sha256(path: str | Path) -> str:
    """Content hash recorded in every run's output, so results from another split are caught."""
    return hashlib.sha256(Path(path).read_bytes()).hexdigest()


def fold_indices(assignment: np.ndarray, fold: int) -> tuple[np.ndarray, np.ndarray]:
    """(training part, held-out fold) image indices for `fold`."""
    n_folds = int(assignment.max()) + 1
    if not 0 <= fold < n_folds:
        raise CnnLstmError(f"fold {fold}: out of range, the folds file has folds 0..{n_folds - 1}")
    used = assignment != UNUSED
    return np.flatnonzero(used & (assignment != fold)), np.flatnonzero(assignment == fold)
