"""A study that survives machines (issue 22), on a tiny study: 2 models (cnn16 and the proposed
hybrid) x 2 folds x 1 epoch on the smoke slice, reproduced up to `collect` (the analysis stages
need the whole study's models). Each test counts the train stages DVC runs ("Running stage 'train")."""

from __future__ import annotations

import shutil
import subprocess
import sys
from pathlib import Path

import pytest

from cnnlstm import timed_repro
from cnnlstm.core.errors import CnnLstmError
from cnnlstm.gate.profile import profiled_params, write_params
from cnnlstm.gate.workspace import UP_TO_DATE, copy_repo, dvc, stage_env
from conftest import REPO
from smoke_fixtures import SMOKE_PROFILE, clone, git, needs_dataset

pytestmark = [pytest.mark.slow, needs_dataset, pytest.mark.xdist_group("study-continues")]

TARGET = "collect"  # train, evaluate and collect: every stage of a model x fold run
TRAIN_STAGES = {"train@cnn16-0", "train@cnn16-1", "train_hybrid@0", "train_hybrid@1"}


def trained(output: str) -> set[str]:
    """The train stages a DVC output shows running."""
    return {line.split("'")[1] for line in output.splitlines() if line.startswith("Running stage 'train")}


def python(repo: Path, *args: str) -> str:
    """`python ARGS` in `repo` as a user would (its own code, DVC on PATH); its output."""
    result = subprocess.run([sys.executable, *args], cwd=repo, env=stage_env(repo), capture_output=True, text=True)
    output = result.stdout + result.stderr
    assert result.returncode == 0, output[-3000:]
    return output


def metrics_bytes(repo: Path) -> dict[str, bytes]:
    """metrics/runs/: every run's quality metrics (timings are measurements and differ run to run)."""
    folder = repo / "metrics" / "runs"
    return {str(p.relative_to(folder)): p.read_bytes() for p in sorted(folder.rglob("*.json"))}


@pytest.fixture(scope="module")
def base(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """The tiny study, committed and never run."""
    repo = copy_repo(REPO, tmp_path_factory.mktemp("study") / "base")
    params = profiled_params(REPO / "params.yaml", SMOKE_PROFILE)
    params["study"]["models"] = ["cnn16"]
    write_params(repo, params)
    git(repo, "commit", "-qam", "tiny study")
    return repo


@pytest.fixture(scope="module")
def one_machine(base: Path, tmp_path_factory: pytest.TempPathFactory) -> tuple[Path, dict[str, bytes]]:
    """The tiny study run on one machine with plain `dvc repro`, and its metrics."""
    repo = clone(base, tmp_path_factory.mktemp("one") / "repo", share_cache=False)
    assert trained(dvc(repo, "repro", TARGET)) == TRAIN_STAGES
    return repo, metrics_bytes(repo)


def test_a_reverted_parameter_is_restored_from_the_run_cache(one_machine) -> None:
    repo, _ = one_machine
    params = repo / "params.yaml"
    original = params.read_text()
    params.write_text(original.replace("lr: 0.003", "lr: 0.002"))
    assert trained(dvc(repo, "repro", *TRAIN_STAGES)) == TRAIN_STAGES
    params.write_text(original)
    output = dvc(repo, "repro", *TRAIN_STAGES)
    assert trained(output) == set()  # every train stage restored, none run
    assert output.count("is cached - skipping run") == len(TRAIN_STAGES)


def test_two_machines_share_a_study_through_a_remote(base: Path, one_machine, tmp_path: Path) -> None:
    remote = tmp_path / "remote"
    machines = []
    for k in (1, 2):
        machine = clone(base, tmp_path / f"machine{k}", share_cache=False)
        dvc(machine, "remote", "add", "--local", "-d", "shared", str(remote))
        machines.append(machine)
    shard_1 = trained(python(machines[0], "-m", "cnnlstm.shard", "1", "2"))
    shard_2 = trained(python(machines[1], "-m", "cnnlstm.shard", "2", "2"))
    assert shard_1 | shard_2 == TRAIN_STAGES and not shard_1 & shard_2 and len(shard_1) == 2

    third = clone(base, tmp_path / "third", share_cache=False)
    dvc(third, "remote", "add", "--local", "-d", "shared", str(remote))
    output = python(third, "-m", "cnnlstm.timed_repro", TARGET)
    assert trained(output) == set(), output[-3000:]
    assert "4 of 4 model x fold runs done" in output and "4 of them to restore from its run-cache" in output
    assert metrics_bytes(third) == one_machine[1]
    assert UP_TO_DATE in dvc(third, "status", TARGET)


def cannot_train(monkeypatch: pytest.MonkeyPatch, repo: Path) -> None:
    """`make repro` in-process in `repo`, on a machine that lacks train.device/precision (a CPU
    without native bf16 for the study's bf16 runs)."""
    def refuse(_params) -> None:
        raise CnnLstmError("params.yaml: train.precision: bf16 requested but this cpu does not support it")
    monkeypatch.setattr(timed_repro, "check_devices", refuse)
    monkeypatch.chdir(repo)
    for name, value in stage_env(repo).items():
        monkeypatch.setenv(name, value)


def test_a_clone_continues_from_git_alone(base: Path, tmp_path: Path, monkeypatch, capsys) -> None:
    never_run = clone(base, tmp_path / "never", share_cache=False)
    assert UP_TO_DATE not in dvc(never_run, "status")  # a pipeline that never ran is not up to date

    first = clone(base, tmp_path / "first", share_cache=False)  # its remote: the in-repo dvcstore/
    committed = {"train@cnn16-0", "train_hybrid@1"}
    assert trained(python(first, "-m", "cnnlstm.timed_repro", *sorted(committed))) == committed
    git(first, "add", "dvc.lock", "dvcstore")
    git(first, "commit", "-qm", "part of the study")

    fresh = clone(first, tmp_path / "fresh", share_cache=False)  # git alone: an empty DVC cache
    output = python(fresh, "-m", "cnnlstm.timed_repro", TARGET)
    assert "2 of 4 model x fold runs done" in output
    assert trained(output) == TRAIN_STAGES - committed  # none committed retrained, every missing one trained
    assert UP_TO_DATE in dvc(fresh, "status", TARGET)

    # A machine that cannot train: finished runs are restored, even those only the remote's run-cache
    # records (pushed by another machine, not in this dvc.lock); missing ones are refused in one line.
    elsewhere = clone(first, tmp_path / "elsewhere", share_cache=False)
    shutil.copytree(fresh / "dvcstore", elsewhere / "dvcstore", dirs_exist_ok=True)
    cannot_train(monkeypatch, elsewhere)
    assert timed_repro.run([TARGET], tmp_path / "timing") == 0
    output = capsys.readouterr().out
    assert trained(output) == set() and "4 of 4 model x fold runs done" in output
    assert UP_TO_DATE in dvc(elsewhere, "status", TARGET)
    cannot_train(monkeypatch, never_run)
    assert timed_repro.run([TARGET], tmp_path / "timing") == 1
    assert capsys.readouterr().err.endswith(
        "this cpu does not support it; 4 model x fold runs are left to train, which needs a machine that has "
        "it (the runs already done are restored on any machine)\n")
