"""The saved predictions of one run (results/<model>/fold<k>.npz): writing, and strict reading."""

from __future__ import annotations

import dataclasses
import zipfile
import zlib
from pathlib import Path

import numpy as np

from cnnlstm.core.atomic import atomic_path
from cnnlstm.core.errors import CnnLstmError
from cnnlstm.core.params import NUM_CLASSES


@dataclasses.dataclass(frozen=True)
class Predictions:
    heldout_index: np.ndarray  # (N,) indices into the 60,000 training images
    heldout_labels: np.ndarray  # (N,)
    heldout_probs: np.ndarray  # (N, 10) float32
    test_index: np.ndarray  # (M,) indices into the 10,000 test images
    test_labels: np.ndarray  # (M,)
    test_probs: np.ndarray  # (M, 10) float32
    tsne_index: np.ndarray  # (S,) test indices of the fixed stratified t-SNE sample
    tsne_labels: np.ndarray  # (S,)
    tsne_features: np.ndarray  # (S, D) float32 penultimate-layer features
    folds_sha256: str  # hash of the data/folds.npy the model was trained and evaluated on


FIELDS = tuple(f.name for f in dataclasses.fields(Predictions))
# Stored in fp16 (issue 22: the study's runs travel in git); read back as float32. `stored` rounds
# the same way, so metrics computed at evaluation equal those computed from the file.
FLOAT_FIELDS = ("heldout_probs", "test_probs", "tsne_features")
STORED_FLOAT = np.float16


def stored(array: np.ndarray) -> np.ndarray:
    """`array` as it reads back from a predictions file: rounded to fp16, as float32."""
    return np.asarray(array).astype(STORED_FLOAT).astype(np.float32)


def save_predictions(path: str | Path, predictions: Predictions) -> None:
    arrays = {name: np.asarray(getattr(predictions, name)) for name in FIELDS}
    arrays.update({name: arrays[name].astype(STORED_FLOAT) for name in FLOAT_FIELDS})
    with atomic_path(path) as tmp:
        with tmp.open("wb") as fh:  # a file object: np.savez would append ".npz" to a path
            np.savez_compressed(fh, **arrays)


def load_predictions(path: str | Path, folds_sha256: str | None = None) -> Predictions:
    """Read and check a predictions file; any problem is one error naming the file.
    With `folds_sha256`, the file must come from that fold split."""
    path = Path(path)
    if not path.is_file():
        raise CnnLstmError(f"{path}: predictions file not found")
    try:
        with np.load(path, allow_pickle=False) as npz:
            missing = [name for name in FIELDS if name not in npz.files]
            if missing:
                raise CnnLstmError(f"{path}: not a predictions file (no {missing[0]!r} array)")
            arrays = {name: npz[name] for name in FIELDS}
            arrays.update({name: arrays[name].astype(np.float32) for name in FLOAT_FIELDS})
    except (zipfile.BadZipFile, zlib.error, ValueError, OSError, EOFError) as exc:
        raise CnnLstmError(f"{path}: unreadable predictions file ({str(exc).splitlines()[0]})") from None
    predictions = Predictions(**{**arrays, "folds_sha256": str(arrays["folds_sha256"])})
    _check(path, predictions)
    if folds_sha256 is not None and predictions.folds_sha256 != folds_sha256:
        raise CnnLstmError(
            f"{path}: made with folds {predictions.folds_sha256[:12]}, but data/folds.npy is "
            f"{folds_sha256[:12]}; rerun its train and evaluate stages"
        )
    return predictions


def _check(path: Path, p: Predictions) -> None:
    for part in ("heldout", "test"):
        index, labels, probs = (getattr(p, f"{part}_{k}") for k in ("index", "labels", "probs"))
        if probs.ndim != 2 or probs.shape[1] != NUM_CLASSES or not len(index) == len(labels) == len(probs):
            raise CnnLstmError(
                f"{path}: {part} arrays disagree: index {index.shape}, labels {labels.shape}, probs {probs.shape}"
            )
        bad = int((~np.isfinite(probs)).any(axis=1).sum())
        if bad:
            what = "all" if bad == len(probs) else f"{bad} of {len(probs)}"
            raise CnnLstmError(f"{path}: {what} {part} predictions are NaN or infinite")
    if p.tsne_features.ndim != 2 or not len(p.tsne_index) == len(p.tsne_labels) == len(p.tsne_features):
        raise CnnLstmError(
            f"{path}: t-SNE arrays disagree: index {p.tsne_index.shape}, labels {p.tsne_labels.shape}, "
            f"features {p.tsne_features.shape}"
        )
