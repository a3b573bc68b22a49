"""Shared setup of the reliability tests: a tiny in-process training run on synthetic data."""

from __future__ import annotations

import copy
from collections.abc import Iterator
from pathlib import Path

import pytest
import torch
import yaml

from cnnlstm.core.params import Params, parse_params
from cnnlstm.data.folds import assign_folds, save_folds
from cnnlstm.training.run import RunPaths
from conftest import synthetic_split, write_idx_gz


def tiny_run(root: Path, base_params: dict, **train) -> tuple[Params, RunPaths]:
    """cnn16 (4 and 8 channels) on 400 synthetic images, fold 0 of 2, CPU fp32, laid out like the repo
    (params.yaml included, for the stage scripts)."""
    base_params = copy.deepcopy(base_params)
    raw = root / "data" / "raw"
    raw.mkdir(parents=True, exist_ok=True)
    images, labels = synthetic_split(400)
    write_idx_gz(raw / "train-images-idx3-ubyte.gz", images)
    write_idx_gz(raw / "train-labels-idx1-ubyte.gz", labels)
    save_folds(root / "data" / "folds.npy", assign_folds(labels.astype(int), 2, seed=0))
    base_params["cv"].update(folds=2, fold_ids=[0, 1], subset=1.0)
    base_params["train"].update(
        {"epochs": 2, "batch_size": 16, "threads": 1, "device": "cpu", "precision": "fp32", **train}
    )
    base_params["models"]["cnn16"]["channels"] = [4, 8]
    (root / "params.yaml").write_text(yaml.safe_dump(base_params))
    paths = RunPaths(
        raw_dir=raw,
        folds=root / "data" / "folds.npy",
        model_file=root / "models" / "cnn16" / "fold0.pt",
        log_dir=root / "runs" / "cnn16" / "fold0",  # the train stage's cached output
        checkpoint=root / "checkpoints" / "cnn16-fold0.pt",
    )
    return parse_params(base_params), paths


@pytest.fixture
def keep_torch_threads() -> Iterator[None]:
    """train.threads sets torch's process-wide thread count: give the other tests theirs back."""
    threads = torch.get_num_threads()
    yield
    torch.set_num_threads(threads)
