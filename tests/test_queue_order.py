"""scripts/study_queue.sh's priority order for the committed params.yaml (`--list` reads it and trains
nothing): the study, the convergence check, Amendment 1's extension with the primary pair first, the
other seeds, then Amendment 2's fp32 arm (docs/preregistration.md); a worker on a machine that cannot
train the study, and one on a CPU without bf16, which takes the fp32 arm alone."""

from __future__ import annotations

import shutil
from pathlib import Path

import pytest
import torch
import yaml

from cnnlstm.core.runtime import cpu_has_bf16
from cnnlstm.study.extension import extension_epochs
from cnnlstm.study.fp32_arm import ARM_OVERRIDE
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
    assert " train.precision=" not in " ".join(extension)
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


def test_the_fp32_arm_comes_last_the_primary_pair_at_the_study_budget_first() -> None:
    listed = queue(REPO, "--list").stdout.splitlines()
    params = yaml.safe_load((REPO / "params.yaml").read_text())
    folds, longer = len(params["cv"]["fold_ids"]), extension_epochs(params["train"]["epochs"])
    arm = [line for line in listed if line.endswith(f" {ARM_OVERRIDE}")]
    assert len(arm) == 2 * 2 * folds and listed[-len(arm):] == arm
    at_study, at_extension = arm[:2 * folds], arm[2 * folds:]
    assert all(len(line.split()) == 2 for line in at_study)  # the study's budget: the precision alone
    assert all(line.split()[1] == f"train.epochs={longer}" for line in at_extension)
    pair = {f"train@{params['study']['primary'][1]}-{f}" for f in params["cv"]["fold_ids"]}
    pair |= {f"train_hybrid@{f}" for f in params["cv"]["fold_ids"]}
    assert {line.split()[0] for line in at_study} == {line.split()[0] for line in at_extension} == pair
    assert [line.split()[0] for line in at_study[:4]] == ["train_hybrid@0", "train@cnn32-0", "train@cnn32-1",
                                                          "train_hybrid@1"]


@pytest.mark.skipif(cpu_has_bf16() or torch.cuda.is_available(),
                    reason="this machine trains bf16 (CI's ONEDNN_MAX_CPU_ISA=AVX2 pass runs this test)")
def test_a_cpu_without_bf16_says_so_and_each_worker_takes_only_the_fp32_arm(tmp_path: Path) -> None:
    """No DVC project here, so each worker's first run fails at once, naming the run it took."""
    (tmp_path / "scripts").mkdir()
    shutil.copy(REPO / "scripts" / "study_queue.sh", tmp_path / "scripts")
    shutil.copy(REPO / "params.yaml", tmp_path)
    check = queue(tmp_path, "--check")
    assert check.returncode == 0
    assert check.stderr.strip() == ("study_queue: params.yaml: train.precision: bf16 requested but this cpu does "
                                    "not support it: this machine trains only the fp32 arm (docs/preregistration.md, "
                                    "Amendment 2)")
    for worker, first in (("1", "train_hybrid@0"), ("2", "train@cnn32-0")):
        result = queue(tmp_path, worker, "2")
        assert result.returncode == 1
        assert f"study_queue: {first} {ARM_OVERRIDE} failed" in result.stderr, result.stderr[-2000:]
    assert (tmp_path / "params.yaml").read_text() == (REPO / "params.yaml").read_text()  # put back
