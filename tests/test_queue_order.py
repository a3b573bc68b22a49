"""scripts/study_queue.sh's priority order for the committed params.yaml (`--list` reads it and trains
nothing): the study, the convergence check, Amendment 1's extension with the primary pair first, then
the other seeds (docs/preregistration.md); and a worker on a machine that cannot train the study."""

from __future__ import annotations

import shutil
from pathlib import Path

import pytest
import torch
import yaml

from cnnlstm.study.extension import extension_epochs
from conftest import REPO
from test_study_queue import queue


def test_the_extension_comes_after_the_check_and_before_the_other_seeds() -> None:
    result = queue(REPO, "--list")
    assert result.returncode == 0, result.stderr
    listed = result.stdout.splitlines()
    params = yaml.safe_load((REPO / "params.yaml").read_text())
    study, check = params["train"]["epochs"], params["study"]["convergence_epochs"]
    extension = [line for line in listed if line.endswith(f" train.epochs={extension_epochs(study)}")]
    folds, main = len(params["cv"]["fold_ids"]), params["study"]["main_models"]
    assert len(extension) == folds * len(main) and len(set(listed)) == len(listed)
    position = {line: i for i, line in enumerate(listed)}
    assert max(position[line] for line in listed if line.endswith(f" train.epochs={check}")) < position[extension[0]]
    assert position[extension[-1]] < min(position[line] for line in listed if " train.seed=" in line)
    primary = 2 * folds  # the hybrid and cnn32, fold by fold, odd folds reversed so that two workers share both
    assert [line.split()[0] for line in extension[:4]] == ["train_hybrid@0", "train@cnn32-0", "train@cnn32-1",
                                                           "train_hybrid@1"]
    assert {line.split("@")[1].split("-")[0] for line in extension[primary:]} == {"cnn32_bilstm", "cnn32_wide"}


@pytest.mark.skipif(torch.cuda.is_available(), reason="needs a machine without CUDA")
def test_a_worker_that_cannot_train_the_study_stops_in_one_line_before_any_set_up(tmp_path: Path) -> None:
    """A CPU without the study's bf16 (AVX2 only) fails the same way as `cuda` without a GPU, the case
    every machine here can show: before the worker pulls the store or lists a run."""
    (tmp_path / "scripts").mkdir()
    shutil.copy(REPO / "scripts" / "study_queue.sh", tmp_path / "scripts")
    params = yaml.safe_load((REPO / "params.yaml").read_text())
    params["train"]["device"] = "cuda"
    (tmp_path / "params.yaml").write_text(yaml.safe_dump(params))
    result = queue(tmp_path, "1", "2")
    assert result.returncode == 1
    assert result.stderr.strip() == ("error: params.yaml: train.device: cuda requested but no CUDA device "
                                     "is available")
    assert sorted(p.name for p in tmp_path.iterdir()) == ["params.yaml", "scripts"]  # no DVC set-up began
