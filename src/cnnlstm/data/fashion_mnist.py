"""Fashion-MNIST as uint8 arrays, parsed once and then served from a .npy cache."""

from __future__ import annotations

import hashlib
from pathlib import Path
from typing import NamedTuple

import numpy as np

from cnnlstm.core.atomic import atomic_path
from cnnlstm.data.idx import read_idx
from cnnlstm.data.source import SIZES
from cnnlstm.core.errors import CnnLstmError

CLASSES = (
    "T-shirt/top", "Trouser", "Pullover", "Dress", "Coat",
    "Sandal", "Shirt", "Sneaker", "Bag", "Ankle boot",
)
IMAGE_SHAPE = (28, 28)
CACHE_DIR = Path(".cache/fashion-mnist")


class Split(NamedTuple):
    images: np.ndarray  # (N, 28, 28) uint8
    labels: np.ndarray  # (N,) int64


def _cached(path: Path, ndim: int) -> np.ndarray:
    """Parse one .gz IDX file; cache the array keyed by the file's size and modification time."""
    stat = path.stat()
    key = hashlib.sha256(f"{path.resolve()}|{stat.st_size}|{stat.st_mtime_ns}".encode()).hexdigest()[:16]
    cache = CACHE_DIR / f"{path.name.removesuffix('.gz')}-{key}.npy"
    if cache.is_file():
        return np.load(cache)
    # Read at most the official file's size: a larger (or inflating) file is refused, not held in memory.
    limit = SIZES.get(path.name.removesuffix(".gz"), max(SIZES.values()))
    array = read_idx(path, ndim, limit)
    try:
        with atomic_path(cache) as tmp:
            with tmp.open("wb") as fh:
                np.save(fh, array)
    except (OSError, CnnLstmError):  # atomic_path reports an unwritable cache as CnnLstmError
        pass  # a read-only checkout or a full disk still works, only slower
    return array


def load_split(raw_dir: str | Path, split: str) -> Split:
    """Load `train` (60,000 images) or `t10k` (10,000) from the folder the download stage fills."""
    raw_dir = Path(raw_dir)
    images_path = raw_dir / f"{split}-images-idx3-ubyte.gz"
    labels_path = raw_dir / f"{split}-labels-idx1-ubyte.gz"
    images = _cached(images_path, 3)
    labels = _cached(labels_path, 1)
    if images.shape[1:] != IMAGE_SHAPE:
        raise CnnLstmError(f"{images_path}: images are {images.shape[1]}x{images.shape[2]}, expected 28x28")
    if len(images) != len(labels):
        raise CnnLstmError(f"{labels_path}: {len(labels)} labels for {len(images)} images in {images_path}")
    if labels.size and labels.max() >= len(CLASSES):
        raise CnnLstmError(f"{labels_path}: label {labels.max()} out of range 0..{len(CLASSES) - 1}")
    return Split(images, labels.astype(np.int64))

