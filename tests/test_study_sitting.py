"""scripts/study_sitting.sh, one command at each end of a sitting of background training: `start` clones
and starts the queue's workers, `stop` signals them and merges what they committed. On a tiny study
(the proposed hybrid and cnn16 x 2 folds), a sitting is cut off without a signal in a long run;
the next `start` merges the finished runs and resumes that run from the checkpoint left on disk; its
`stop` commits the checkpoint in this checkout, the only thing the next machine gets."""

from __future__ import annotations

import contextlib
import os
import shutil
import signal
import subprocess
import time
from collections.abc import Callable, Iterator
from pathlib import Path

import pytest
import torch
import yaml

from cnnlstm.gate.workspace import stage_env
from cnnlstm.models.checkpoint import load_torch
from conftest import REPO
from smoke_fixtures import git, needs_dataset
from test_study_queue import tiny_study

EPOCHS = 300  # a run long enough to stop midway (30 smoke epochs take 8 s)
CUT_OFF_RUN = f"train_hybrid@0 train.epochs={EPOCHS}"


def sitting(repo: Path, *args: str) -> subprocess.CompletedProcess:
    return subprocess.run(["bash", "scripts/study_sitting.sh", *args], cwd=repo, env=stage_env(repo),
                          capture_output=True, text=True, timeout=900)


def wait_for(condition: Callable[[], object], log: Path, seconds: float = 600) -> None:
    deadline = time.monotonic() + seconds
    while not condition():
        assert time.monotonic() < deadline, log.read_text()[-3000:] if log.exists() else "no log"
        time.sleep(0.2)


def scratch_repo(tmp_path: Path, **train: str) -> Path:
    """A folder with the two scripts and params.yaml, its `train` settings changed: enough for the
    refusals `start` makes before it clones anything."""
    repo = tmp_path / "repo"
    (repo / "scripts").mkdir(parents=True)
    for script in ("study_sitting.sh", "study_queue.sh"):
        shutil.copy(REPO / "scripts" / script, repo / "scripts")
    params = yaml.safe_load((REPO / "params.yaml").read_text())
    params["train"].update(train)
    (repo / "params.yaml").write_text(yaml.safe_dump(params))
    return repo


def epochs_in(checkpoint: Path) -> list[dict]:
    """The finished epochs a checkpoint holds; none while it is absent or being replaced."""
    try:
        return load_torch(checkpoint)["history"]
    except Exception:  # noqa: BLE001 (absent, or caught mid-write: read it again)
        return []


@pytest.fixture
def pool(tmp_path: Path) -> Iterator[Path]:
    """The workers' folder of a checkout `tmp_path/base`; its workers are killed afterwards, whatever happened."""
    yield tmp_path / "base-workers"
    for pid_file in (tmp_path / "base-workers").glob("*.pid"):
        with contextlib.suppress(ProcessLookupError, ValueError):
            os.killpg(int(pid_file.read_text()), signal.SIGKILL)


@pytest.mark.slow
@needs_dataset
def test_a_cut_off_sitting_resumes_and_a_stopped_one_leaves_its_run_in_git(tmp_path: Path, pool: Path) -> None:
    base = tiny_study(tmp_path / "base", convergence_epochs=EPOCHS)
    for key, value in (("user.name", "cnnlstm tests"), ("user.email", "tests@cnnlstm.invalid")):
        git(base, "config", key, value)  # the workers commit as this checkout's identity
    checkpoint_name = f"{yaml.safe_load((base / 'params.yaml').read_text())['model']['name']}-fold0.pt"
    log, checkpoint = pool / "1.log", pool / "1" / "checkpoints" / checkpoint_name

    started = sitting(base, "start", "1")
    assert started.returncode == 0, started.stderr
    assert started.stdout.startswith(f"study_sitting: worker 1 of 1 started on core 0 in {pool / '1'}")
    # The long run's checkpoint: the study's 1-epoch train_hybrid@0 before it writes the same file briefly.
    wait_for(lambda: log.exists() and "Reproducing experiment" in log.read_text() and checkpoint.exists(), log)
    os.killpg(int((pool / "1.pid").read_text()), signal.SIGKILL)  # the machine goes: nothing committed
    cut_off_at = epochs_in(checkpoint)  # the epochs finished before the kill
    assert 1 <= len(cut_off_at) < EPOCHS
    assert "study_sitting: worker 1 stopped" in sitting(base, "status").stdout
    assert git(base, "ls-files", "dvcstore/runs") == ""  # not merged yet

    refused = sitting(base, "start", "2")  # worker 1 of 2 would not take the cut-off run
    assert "study_sitting: merged worker 1's runs" in refused.stdout  # its finished runs, merged all the same
    assert refused.returncode == 1 and refused.stderr.strip() == (
        f"study_sitting: worker 1 of the last sitting's 1 was cut off in a run ({checkpoint}); start 1 workers "
        "to resume it")
    assert checkpoint.exists()
    resumed = sitting(base, "start")  # as many workers as the last sitting
    assert resumed.returncode == 0, resumed.stderr
    assert (f"study_sitting: worker 1 resumes from the checkpoints its clone was cut off with: {checkpoint_name}"
            in resumed.stdout)
    wait_for(lambda: len(epochs_in(checkpoint)) > len(cut_off_at), log)  # it trains on
    status = sitting(base, "status").stdout
    assert "study_sitting: worker 1 running" in status
    assert f"study_sitting: train.epochs={EPOCHS}: 0 of 4 runs committed" in status
    subjects = git(base, "log", "--format=%s").splitlines()  # the cut-off sitting's finished runs, merged
    assert sum(subject.startswith("Converged study: ") for subject in subjects) == 4

    stopped = sitting(base, "stop")
    assert stopped.returncode == 0, stopped.stderr
    assert f"study_sitting: train.epochs={EPOCHS}: 0 of 4 runs committed" in stopped.stdout  # one in progress
    assert git(base, "log", "-1", "--format=%s").startswith(f"Converged study: {CUT_OFF_RUN} stopped")
    kept = epochs_in(base / "checkpoints" / checkpoint_name)  # in git: the next machine resumes from it
    assert len(kept) > len(cut_off_at)
    assert kept[:len(cut_off_at)] == cut_off_at  # resumed, not restarted: the cut-off's epochs as they were
    assert "study_sitting: worker 1 stopped" in sitting(base, "status").stdout
    assert git(base, "status", "--porcelain", "--untracked-files=no") == ""


@pytest.mark.skipif(torch.cuda.is_available(), reason="needs a machine without CUDA")
def test_a_machine_that_cannot_train_the_study_starts_nothing(tmp_path: Path) -> None:
    """As the queue itself: in one line, before any clone (`cuda` without a GPU, as a CPU without bf16)."""
    result = sitting(scratch_repo(tmp_path, device="cuda"), "start", "2")
    assert result.returncode == 1
    assert result.stderr.strip() == "error: params.yaml: train.device: cuda requested but no CUDA device is available"
    assert sorted(p.name for p in tmp_path.iterdir()) == ["repo"]  # no workers' folder


def test_a_checkout_without_a_git_identity_starts_nothing(tmp_path: Path) -> None:
    """The workers commit every run: without user.name and user.email each commit would fail, and the
    runs be lost with the clones."""
    repo = scratch_repo(tmp_path, device="cpu", precision="fp32")  # a study any machine can train
    env = stage_env(repo) | {"GIT_CONFIG_GLOBAL": str(tmp_path / "no-gitconfig"), "GIT_CONFIG_NOSYSTEM": "1"}
    subprocess.run(["git", "init", "-q"], cwd=repo, env=env, check=True)
    subprocess.run(["git", "-c", "user.name=a", "-c", "user.email=a@b.invalid", "commit", "-q", "--allow-empty",
                    "-m", "start"], cwd=repo, env=env, check=True)
    result = subprocess.run(["bash", "scripts/study_sitting.sh", "start", "1"], cwd=repo, env=env,
                            capture_output=True, text=True)
    assert result.returncode == 1
    assert result.stderr.strip() == ("study_sitting: set git's user.name and user.email first: the workers "
                                     "commit every run")
    assert sorted(p.name for p in tmp_path.iterdir()) == ["repo"]  # no workers' folder


@pytest.mark.parametrize(("args", "message"), [
    (["start", "0"], "study_sitting: WORKERS must be a positive number, not '0'"),
    (["resume"], "usage: scripts/study_sitting.sh start [WORKERS] | status | stop | merge"),
])
def test_bad_arguments_are_one_line_errors(args: list[str], message: str) -> None:
    result = sitting(REPO, *args)
    assert result.returncode != 0 and result.stderr.strip() == message
