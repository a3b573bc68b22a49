"""The regression gate on real smoke runs: it passes on the repository as it is and fails on a
planted regression (the proposed model trained on shuffled labels), naming the metrics that fell."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import pytest

from cnnlstm.gate.compare import MEAN_ROW
from cnnlstm.gate.workspace import dvc
from cnnlstm.core.params import load_params
from smoke_fixtures import REPO, clone, needs_dataset

pytestmark = [pytest.mark.slow, needs_dataset]

# Planted in a clone only: stages/train.py with the training labels permuted, run for the proposed
# model's stages. Nothing else changes, so only its stages and those downstream rerun.
SHUFFLED_TRAINING = '''"""Planted regression: stages/train.py on shuffled training labels."""
import runpy

import numpy as np

import cnnlstm.training.run as run

real_load_split = run.load_split


def shuffled(raw_dir, split):
    data = real_load_split(raw_dir, split)
    return data._replace(labels=np.random.default_rng(0).permutation(data.labels))


run.load_split = shuffled
run.check_learned = lambda *args: None  # the plant must reach the gate: the train stage refuses chance level
runpy.run_path("stages/train.py", run_name="__main__")
'''


def gate_check(run_dir: Path, *args: str) -> subprocess.CompletedProcess:
    command = [sys.executable, "-m", "cnnlstm.gate", "--repo", str(REPO), "--check", str(run_dir), *args]
    return subprocess.run(command, capture_output=True, text=True)


def verdicts(output: str) -> dict[tuple[str, str], str]:
    """(model, metric) -> verdict, read from the gate's table."""
    rows = [line.split() for line in output.splitlines()]
    return {(row[0], row[1]): row[-1] for row in rows if len(row) == 7 and row[-1] in ("ok", "REGRESSION")}


def test_gate_passes_on_the_repository(smoke_repo, tmp_path):
    summary = tmp_path / "summary.md"
    result = gate_check(smoke_repo, "--markdown", str(summary))
    assert result.returncode == 0, result.stdout + result.stderr
    table = verdicts(result.stdout)
    assert table and set(table.values()) == {"ok"}
    assert {model for model, _ in table} == {*load_params(REPO / "params.yaml").all_models, MEAN_ROW}
    assert result.stdout.rstrip().endswith(f"gate: pass ({len(table)} checks within tolerance)")
    assert "| model | metric | baseline | now | change | tolerance | verdict |" in summary.read_text()


def test_gate_fails_when_a_model_trains_on_shuffled_labels(smoke_repo, tmp_path):
    planted = clone(smoke_repo, tmp_path / "planted", share_cache=True)
    (planted / "stages" / "train_shuffled.py").write_text(SHUFFLED_TRAINING)
    dvc_yaml = planted / "dvc.yaml"
    hybrid_cmd = "cmd: python stages/train.py ${model.name} ${item.fold}"
    assert dvc_yaml.read_text().count(hybrid_cmd) == 1
    dvc_yaml.write_text(dvc_yaml.read_text().replace(hybrid_cmd, hybrid_cmd.replace("train.py", "train_shuffled.py")))
    dvc(planted, "repro")

    result = gate_check(planted)
    assert result.returncode == 1, result.stdout + result.stderr
    hybrid = load_params(REPO / "params.yaml").model["name"]
    table = verdicts(result.stdout)
    assert table[(hybrid, "cv.accuracy.mean")] == "REGRESSION"
    assert table[(hybrid, "test_ensemble.accuracy")] == "REGRESSION"
    assert all(verdict == "ok" for (model, _), verdict in table.items() if model not in (hybrid, MEAN_ROW))
    last = result.stdout.splitlines()[-1]
    assert last.startswith("gate: FAIL") and f"{hybrid} cv.accuracy.mean" in last
