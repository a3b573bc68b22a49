"""A run that diverges or ends at chance level is an error naming model, fold, epoch and value,
and leaves no model file and no run summary (nothing DVC could cache)."""

from __future__ import annotations

import os
import shutil
import subprocess
import sys

import pytest
import yaml

import cnnlstm.training.run as run
from cnnlstm.core.errors import CnnLstmError
from cnnlstm.data.fashion_mnist import load_split
from cnnlstm.data.folds import assign_folds, save_folds
from cnnlstm.data.source import FILES, find_source
from cnnlstm.gate.profile import profiled_params
from cnnlstm.training.run import train_run
from conftest import REPO
from reliability_helpers import keep_torch_threads, tiny_run  # noqa: F401
from smoke_fixtures import needs_dataset


def assert_nothing_written(paths: run.RunPaths) -> None:
    assert not paths.model_file.exists()
    assert not (paths.log_dir / "run.json").exists()


def test_exploding_loss_is_a_divergence_error(tmp_path, base_params, keep_torch_threads):
    params, paths = tiny_run(tmp_path, base_params, lr=50)
    with pytest.raises(CnnLstmError, match=r"^cnn16 fold 0: diverged in epoch 1: training loss \S+ \(uniform"):
        train_run(params, "cnn16", 0, paths)
    assert_nothing_written(paths)


def test_chance_level_accuracy_is_an_error(tmp_path, base_params, keep_torch_threads, monkeypatch):
    params, paths = tiny_run(tmp_path, base_params)
    monkeypatch.setattr(run, "validate", lambda *args: (2.3, 0.1))  # what a constant model scores
    with pytest.raises(CnnLstmError, match=r"^cnn16 fold 0: ended at chance level: best validation accuracy "
                                           r"0\.1000 \(epoch 1\) <= 0\.2"):
        train_run(params, "cnn16", 0, paths)
    assert_nothing_written(paths)


@pytest.mark.slow
@needs_dataset
def test_lr_50_on_the_smoke_profile_fails_the_train_stage(tmp_path):
    """The issue's case, as the train stage runs it: the smoke profile with train.lr 50."""
    params = profiled_params(REPO / "params.yaml", REPO / "profiles" / "smoke.yaml")
    params["train"]["lr"] = 50
    (tmp_path / "params.yaml").write_text(yaml.safe_dump(params))
    raw = tmp_path / "data" / "raw"
    raw.mkdir(parents=True)
    for name in FILES[:2]:  # the training images and labels
        shutil.copyfile(find_source(None) / name, raw / name)
    labels = load_split(raw, "train").labels
    save_folds(tmp_path / "data" / "folds.npy", assign_folds(labels, 2, params["cv"]["seed"], params["cv"]["subset"]))
    result = subprocess.run([sys.executable, str(REPO / "stages" / "train.py"), "cnn16", "0"], cwd=tmp_path,
                            env={**os.environ, "CI": "true"}, capture_output=True, text=True)
    assert result.returncode == 1
    last = result.stderr.strip().splitlines()[-1]
    assert last.startswith("error: cnn16 fold 0: diverged in epoch 1: training loss"), result.stderr
    assert "Traceback" not in result.stderr
    assert not list(tmp_path.glob("models/**/*.pt"))
