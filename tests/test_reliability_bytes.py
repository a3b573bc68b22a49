"""Identical inputs and settings give byte-identical outputs, so DVC reruns nothing downstream of a
retrain that reproduced its output (model files, checkpoints' weights, predictions)."""

from __future__ import annotations

import zipfile

import numpy as np
import pytest
import torch

import cnnlstm.training.run as run
from cnnlstm.evaluation.predictions import Predictions, save_predictions
from cnnlstm.models.checkpoint import save_torch
from cnnlstm.training.run import train_run
from reliability_helpers import keep_torch_threads, tiny_run  # noqa: F401


class Killed(Exception):
    """Stands in for SIGKILL: the run stops in the middle of an epoch."""


def test_torch_files_do_not_depend_on_their_temporary_name(tmp_path):
    payload = {"state_dict": {"w": torch.arange(6.0).reshape(2, 3)}, "fold": 0}
    save_torch(tmp_path / "a.pt", payload)
    save_torch(tmp_path / "other-name.pt", payload)
    assert (tmp_path / "a.pt").read_bytes() == (tmp_path / "other-name.pt").read_bytes()


def test_two_trainings_give_identical_model_files(tmp_path, base_params, keep_torch_threads):
    files = []
    for name in ("a", "b"):
        params, paths = tiny_run(tmp_path / name, base_params)
        train_run(params, "cnn16", 0, paths)
        files.append(paths.model_file.read_bytes())
    assert files[0] == files[1]


def test_resume_after_a_crash_in_epoch_2_gives_identical_bytes(tmp_path, base_params, keep_torch_threads, monkeypatch):
    params, reference = tiny_run(tmp_path / "ref", base_params)
    train_run(params, "cnn16", 0, reference)

    params, paths = tiny_run(tmp_path / "crashed", base_params)
    real_epoch = run.train_one_epoch

    def crash_in_epoch_2(*args, **kwargs):
        if paths.checkpoint.is_file():  # epoch 1 is done and checkpointed
            raise Killed
        return real_epoch(*args, **kwargs)

    monkeypatch.setattr(run, "train_one_epoch", crash_in_epoch_2)
    with pytest.raises(Killed):
        train_run(params, "cnn16", 0, paths)
    assert not paths.model_file.exists()
    epochs_run = []

    def count_epochs(*args, **kwargs):
        epochs_run.append(1)
        return real_epoch(*args, **kwargs)

    monkeypatch.setattr(run, "train_one_epoch", count_epochs)
    train_run(params, "cnn16", 0, paths)
    assert len(epochs_run) == 1  # resumed at epoch 2
    assert paths.model_file.read_bytes() == reference.model_file.read_bytes()


def test_predictions_files_are_byte_identical(tmp_path):
    rng = np.random.default_rng(0)
    probs = rng.random((4, 10), dtype=np.float32)
    predictions = Predictions(
        np.arange(4), np.arange(4), probs, np.arange(4), np.arange(4), probs, np.arange(2), np.arange(2),
        rng.random((2, 3), dtype=np.float32), "0" * 64,
    )
    save_predictions(tmp_path / "a.npz", predictions)
    save_predictions(tmp_path / "b.npz", predictions)
    assert (tmp_path / "a.npz").read_bytes() == (tmp_path / "b.npz").read_bytes()
    # zipfile stamps members written through ZipFile.open() with 1980-01-01, never the clock
    assert {info.date_time for info in zipfile.ZipFile(tmp_path / "a.npz").infolist()} == {(1980, 1, 1, 0, 0, 0)}
