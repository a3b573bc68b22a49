"""The train stage on tiny synthetic data: determinism, resume after SIGKILL, bad input."""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest
import torch
import yaml

from cnnlstm.models.checkpoint import load_model
from cnnlstm.data.folds import assign_folds, save_folds
from conftest import REPO, synthetic_split, write_idx_gz

TRAIN = [sys.executable, str(REPO / "stages" / "train.py")]


def make_workdir(path: Path, base_params: dict, n_train: int = 400, **train) -> Path:
    """A folder laid out like the repository, with synthetic data and a tiny configuration."""
    raw = path / "data" / "raw"
    raw.mkdir(parents=True)
    images, labels = synthetic_split(n_train)
    write_idx_gz(raw / "train-images-idx3-ubyte.gz", images)
    write_idx_gz(raw / "train-labels-idx1-ubyte.gz", labels)
    save_folds(path / "data" / "folds.npy", assign_folds(labels.astype(int), 2, seed=0))
    base_params["cv"].update(folds=2, fold_ids=[0, 1])
    base_params["train"].update({"epochs": 2, "batch_size": 16, "threads": 1, **train})
    base_params["models"]["cnn16"]["channels"] = [4, 8]
    (path / "params.yaml").write_text(yaml.safe_dump(base_params))
    return path


def run_train(workdir: Path, model: str = "cnn16", fold: int = 0, **kwargs) -> subprocess.CompletedProcess:
    env = {**os.environ, "CI": "true"}
    return subprocess.run([*TRAIN, model, str(fold)], cwd=workdir, env=env, capture_output=True, text=True, **kwargs)


def outputs(workdir: Path, model: str = "cnn16", fold: int = 0) -> tuple[dict, dict, list[str]]:
    model_obj, _ = load_model(workdir / "models" / model / f"fold{fold}.pt")
    run = json.loads((workdir / "runs" / model / f"fold{fold}" / "run.json").read_text())
    val_acc = (workdir / "runs" / model / f"fold{fold}" / "plots/metrics/val/acc.tsv").read_text().splitlines()
    return model_obj.state_dict(), run, val_acc


def test_train_learns_and_reproduces(tmp_path, base_params):
    first = make_workdir(tmp_path / "a", base_params)
    second = make_workdir(tmp_path / "b", base_params)
    for workdir in (first, second):
        result = run_train(workdir)
        assert result.returncode == 0, result.stderr
        assert "epoch 2/2" in result.stderr  # plain progress lines when not on a terminal
    state_a, run_a, acc_a = outputs(first)
    state_b, run_b, acc_b = outputs(second)
    assert run_a["best_val_acc"] > 0.5  # synthetic classes are easy: well above chance (0.1)
    assert acc_a == acc_b and run_a["best_val_acc"] == run_b["best_val_acc"]
    assert all(torch.equal(state_a[k], state_b[k]) for k in state_a)
    assert not (first / "checkpoints").exists() or not any((first / "checkpoints").iterdir())


def test_sigkill_mid_run_then_resume_matches_uninterrupted(tmp_path, base_params):
    reference = make_workdir(tmp_path / "ref", base_params, n_train=2000, epochs=4)
    assert run_train(reference).returncode == 0
    killed = make_workdir(tmp_path / "killed", base_params, n_train=2000, epochs=4)
    env = {**os.environ, "CI": "true"}
    process = subprocess.Popen([*TRAIN, "cnn16", "0"], cwd=killed, env=env,
                               stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    checkpoint = killed / "checkpoints" / "cnn16-fold0.pt"
    deadline = time.monotonic() + 120
    while not checkpoint.exists() and process.poll() is None and time.monotonic() < deadline:
        time.sleep(0.05)
    time.sleep(0.2)  # into the next epoch
    process.send_signal(signal.SIGKILL)
    process.wait()
    assert process.returncode == -signal.SIGKILL, "the run finished before it could be killed"
    assert not (killed / "models" / "cnn16" / "fold0.pt").exists()
    resumed = run_train(killed)
    assert resumed.returncode == 0, resumed.stderr
    assert "epoch 1/4" not in resumed.stderr  # it resumed instead of starting over
    state_ref, run_ref, acc_ref = outputs(reference)
    state_res, run_res, acc_res = outputs(killed)
    assert acc_res == acc_ref and run_res["best_epoch"] == run_ref["best_epoch"]
    assert all(torch.equal(state_ref[k], state_res[k]) for k in state_ref)


def test_model_file_loads_without_code_execution(tmp_path, base_params):
    workdir = make_workdir(tmp_path, base_params, epochs=1)
    assert run_train(workdir).returncode == 0
    payload = torch.load(workdir / "models/cnn16/fold0.pt", weights_only=True)
    assert payload["model"] == "cnn16" and payload["fold"] == 0


@pytest.mark.parametrize(
    ("args", "change", "message"),
    [
        (("cnn99", 0), {}, "error: unknown model 'cnn99'; known models: cnn16"),
        (("cnn16", 7), {}, "error: fold 7: out of range, the folds file has folds 0..1"),
        (("cnn16", 0), {"lr": 50}, "error: cnn16 fold 0: diverged in epoch 1: training loss"),
        (("cnn16", 0), {"epochs": 0}, "error: params.yaml: train.epochs: must be > 0, got 0"),
    ],
)
def test_bad_input_is_one_line_and_leaves_no_model(tmp_path, base_params, args, change, message):
    workdir = make_workdir(tmp_path, base_params, **change)
    result = run_train(workdir, *args)
    assert result.returncode == 1
    assert result.stderr.strip().splitlines()[-1].startswith(message), result.stderr
    assert "Traceback" not in result.stderr
    assert not (workdir / "models").exists()


def test_missing_folds_file(tmp_path, base_params):
    workdir = make_workdir(tmp_path, base_params)
    (workdir / "data" / "folds.npy").unlink()
    result = run_train(workdir)
    assert result.returncode == 1 and "data/folds.npy: folds file not found" in result.stderr
