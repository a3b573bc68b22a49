"""A stage that fails part-way changes none of its git-tracked outputs: they are swapped in whole at
the end (train's dvclive folder, evaluate's metrics/runs and metrics/timings, aggregate's reports/tables)."""

from __future__ import annotations

import os
import subprocess
import sys

import pytest

from cnnlstm.training.run import train_run
from conftest import REPO, synthetic_split, write_idx_gz
from reliability_helpers import keep_torch_threads, tiny_run  # noqa: F401

pytestmark = pytest.mark.slow  # stage processes: seconds of imports each


def test_evaluate_failing_at_its_second_fold_changes_no_output(tmp_path, base_params, keep_torch_threads):
    params, paths = tiny_run(tmp_path, base_params)
    train_run(params, "cnn16", 0, paths)  # fold 1 is never trained: evaluating it fails
    images, labels = synthetic_split(100, seed=1)
    write_idx_gz(tmp_path / "data" / "raw" / "t10k-images-idx3-ubyte.gz", images)
    write_idx_gz(tmp_path / "data" / "raw" / "t10k-labels-idx1-ubyte.gz", labels)
    old = {}
    for folder in ("results/cnn16",):  # its one output: the collect stage copies the json files into git
        (tmp_path / folder).mkdir(parents=True)
        (tmp_path / folder / "fold0.old").write_text("the last good run")
        old[folder] = sorted(p.name for p in (tmp_path / folder).iterdir())
    result = subprocess.run([sys.executable, str(REPO / "stages" / "evaluate.py"), "cnn16"], cwd=tmp_path,
                            capture_output=True, text=True, env={**os.environ, "CI": "true"})
    assert result.returncode == 1 and "Traceback" not in result.stderr
    assert result.stderr.startswith("error: ") and "cnn16/fold1" in result.stderr and result.stderr.count("\n") == 1
    assert result.stdout.startswith("results/cnn16/fold0.metrics.json: held-out accuracy")  # fold 0 was done
    for folder, names in old.items():
        assert sorted(p.name for p in (tmp_path / folder).iterdir()) == names
    assert not list(tmp_path.rglob(".*.tmp"))


def test_train_failing_leaves_its_log_folder_as_it_was(tmp_path, base_params):
    tiny_run(tmp_path, base_params, lr=100.0)  # diverges in epoch 1, after dvclive has logged
    log = tmp_path / "runs" / "cnn16" / "fold0"
    log.mkdir(parents=True)
    (log / "metrics.json").write_text('{"val": {"acc": 0.9}}\n')
    result = subprocess.run([sys.executable, str(REPO / "stages" / "train.py"), "cnn16", "0"], cwd=tmp_path,
                            capture_output=True, text=True, env={**os.environ, "CI": "true"})
    assert result.returncode == 1 and "diverged in epoch 1" in result.stderr.splitlines()[-1]
    assert [p.name for p in log.iterdir()] == ["metrics.json"]
    assert (log / "metrics.json").read_text() == '{"val": {"acc": 0.9}}\n'
    assert not list(tmp_path.rglob(".*.tmp"))
