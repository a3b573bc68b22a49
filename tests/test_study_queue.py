"""scripts/study_queue.sh, the worker that trains the converged study across sittings, on a tiny
study: the proposed hybrid and cnn16 x 2 folds x 1 epoch on the smoke slice, then the convergence
check's override runs (`dvc exp run -S train.epochs=2`). Every run it commits must be restorable
from git alone: DVC's `push --run-cache` sends only the run-cache entries, and the 2026-12-04 queue
left 52 entries without their models (cnnlstm.store_outputs)."""

from __future__ import annotations

import os
import shutil
import signal
import subprocess
import time
from pathlib import Path

import pytest
import yaml

from cnnlstm.gate.profile import profiled_params, write_params
from cnnlstm.gate.workspace import copy_repo, dvc, stage_env
from cnnlstm.models.checkpoint import load_torch
from cnnlstm.store_outputs import done_runs, entries_without_outputs, not_pushed, object_path, prune
from conftest import REPO
from smoke_fixtures import SMOKE_PROFILE, clone, git, needs_dataset
from test_study_continues import trained

pytestmark = [pytest.mark.slow, needs_dataset, pytest.mark.xdist_group("study-queue")]

BASE_RUNS = {"train_hybrid@0", "train@cnn16-0", "train_hybrid@1", "train@cnn16-1"}
RUNS = sorted(BASE_RUNS | {f"{run} train.epochs=2" for run in BASE_RUNS})


def queue(repo: Path, *args: str) -> subprocess.CompletedProcess:
    return subprocess.run(["bash", "scripts/study_queue.sh", *args], cwd=repo, env=stage_env(repo),
                          capture_output=True, text=True)


def tiny_study(dest: Path, convergence_epochs: int = 2) -> Path:
    """The tiny study, committed with an empty store; a longer convergence check gives a run long enough
    to stop midway."""
    base = copy_repo(REPO, dest)
    for folder in ("files", "runs"):
        shutil.rmtree(base / "dvcstore" / folder, ignore_errors=True)
    params = profiled_params(REPO / "params.yaml", SMOKE_PROFILE)
    params["study"].update(models=["cnn16"], main_models=["cnn16", params["model"]["name"]], seeds=[0],
                           convergence_epochs=convergence_epochs)
    write_params(base, params)
    git(base, "add", "-A")
    git(base, "commit", "-qm", "tiny study, empty store")
    return base


@pytest.fixture(scope="module")
def worked(tmp_path_factory: pytest.TempPathFactory) -> tuple[Path, str]:
    """The tiny study and one worker's whole queue run in a clone."""
    base = tiny_study(tmp_path_factory.mktemp("queue") / "base")
    worker = clone(base, tmp_path_factory.mktemp("queue") / "worker", share_cache=False)
    result = queue(worker, "1", "1")
    assert result.returncode == 0, (result.stdout + result.stderr)[-3000:]
    return worker, result.stdout + result.stderr


def test_the_order_is_the_study_then_the_convergence_check_over_the_configured_folds(worked) -> None:
    worker, _ = worked
    listed = queue(worker, "--list").stdout.splitlines()
    assert listed == ["train_hybrid@0", "train@cnn16-0", "train_hybrid@1", "train@cnn16-1",
                      "train_hybrid@0 train.epochs=2", "train@cnn16-0 train.epochs=2",  # odd folds reversed:
                      "train@cnn16-1 train.epochs=2", "train_hybrid@1 train.epochs=2"]  # workers share slow models


def test_every_run_is_committed_with_its_outputs_and_the_workspace_is_the_studys(worked) -> None:
    worker, output = worked
    subjects = git(worker, "log", "--format=%s").splitlines()
    assert sum(subject.startswith("Converged study: ") for subject in subjects) == 8, output[-3000:]
    store = worker / "dvcstore"
    assert entries_without_outputs(store, not_pushed(worker / "dvc.yaml")) == {}
    assert len(list((store / "runs").glob("*/*/*"))) >= 8  # one entry per run (and the split's)
    assert git(worker, "status", "--porcelain", "params.yaml") == ""  # the overrides are undone
    assert "epochs: 2" not in (worker / "dvc.lock").read_text()


def test_a_fresh_clone_restores_every_committed_run_and_the_queue_trains_nothing(worked, tmp_path) -> None:
    worker, _ = worked
    fresh = clone(worker, tmp_path / "fresh", share_cache=False)  # git alone: an empty DVC cache
    result = queue(fresh, "1", "1")
    output = result.stdout + result.stderr
    assert result.returncode == 0, output[-3000:]
    assert trained(output) == set(), output[-3000:]
    assert "Reproducing experiment" not in output, output[-3000:]  # the override runs skipped, not restored
    assert git(fresh, "log", "--format=%s") == git(worker, "log", "--format=%s")  # nothing new to commit
    # The documented assembly of a budget point: the override runs come back from the run-cache.
    dvc(fresh, "fetch", "--run-cache")
    output = dvc(fresh, "exp", "run", "--temp", "--pull", "-S", "train.epochs=2", *sorted(BASE_RUNS))
    restored = {line.split("'")[1] for line in output.splitlines() if "is cached - skipping run" in line}
    assert trained(output) == set() and BASE_RUNS <= restored, output[-3000:]


def test_the_store_check_finds_and_prunes_entries_without_outputs(worked, tmp_path) -> None:
    worker, _ = worked
    store = shutil.copytree(worker / "dvcstore", tmp_path / "store")
    assert done_runs(store, RUNS, worker / "dvc.lock") == RUNS
    for entry in store.glob("runs/*/*/*"):  # lose every run's weights, as the 2026-12-04 push did
        for out in yaml.safe_load(entry.read_text())["outs"]:
            if out["path"].endswith(".pt"):
                object_path(store, out["md5"]).unlink(missing_ok=True)
    missing = entries_without_outputs(store, not_pushed(worker / "dvc.yaml"))
    assert len(missing) == 8 and all(lost[0].startswith("models/") for lost in missing.values())
    assert done_runs(store, RUNS, worker / "dvc.lock") == []
    prune(store, list(missing))
    assert entries_without_outputs(store, not_pushed(worker / "dvc.yaml")) == {}
    assert len(list((store / "runs").glob("*/*/*"))) == len(list((worker / "dvcstore" / "runs").glob("*/*/*"))) - 8


def only(repo: Path, run: str) -> list[str]:
    """The worker arguments that take `run` of the listed runs and no other: worker k of as many as listed."""
    listed = queue(repo, "--list").stdout.splitlines()
    return [str(listed.index(run) + 1), str(len(listed))]


def stop_after_first_epoch(repo: Path, run: str, log: Path, queue_only: bool = False) -> str:
    """Start `run`'s worker, SIGTERM it once the run has checkpointed an epoch, as a session's end does:
    the worker, DVC and the stage (a terminal's Ctrl-C), or with `queue_only` the queue alone; the
    worker's output."""
    with log.open("w") as out:
        worker = subprocess.Popen(["bash", "scripts/study_queue.sh", *only(repo, run)], cwd=repo, env=stage_env(repo),
                                  stdout=out, stderr=subprocess.STDOUT, start_new_session=True)
        deadline = time.monotonic() + 600
        while not list((repo / "checkpoints").glob("*.pt")):
            assert worker.poll() is None and time.monotonic() < deadline, log.read_text()[-3000:]
            time.sleep(0.1)
        if queue_only:
            worker.send_signal(signal.SIGTERM)
        else:
            os.killpg(worker.pid, signal.SIGTERM)
        assert worker.wait(timeout=300) == 130, log.read_text()[-3000:]
    return log.read_text()


def test_a_worker_asked_to_stop_commits_the_run_under_way_once_its_stage_ends(tmp_path) -> None:
    """SIGTERM to the queue alone, its stage left running: the worker waits for the run to end, pushes
    and commits it, then stops. Until 2026-12-07 it stopped as soon as the command under way ended, so
    a run whose push was under way was pushed but never committed, lost with the clone."""
    base = tiny_study(tmp_path / "base", convergence_epochs=30)
    run, repo = "train_hybrid@0 train.epochs=30", clone(base, tmp_path / "worker", share_cache=False)
    output = stop_after_first_epoch(repo, run, tmp_path / "log", queue_only=True)
    assert f"study_queue: {run} committed" in output and "study_queue: stopped" in output, output[-3000:]
    assert git(repo, "log", "-1", "--format=%s").startswith(f"Converged study: {run} (")
    store = repo / "dvcstore"  # the run's entry and its outputs: restorable, not trained again
    assert list(store.glob("runs/*/*/*")) and entries_without_outputs(store, not_pushed(repo / "dvc.yaml")) == {}
    assert git(repo, "ls-files", "checkpoints") == ""


def test_a_stopped_run_resumes_on_the_next_machine_from_its_committed_checkpoint(tmp_path) -> None:
    """Only git survives: the run in progress at a session's end is committed as its checkpoint, the
    documented merge of a worker's newest commit brings it to the main checkout, and a fresh clone's
    worker continues it and commits the finished run without the checkpoint. The run is an override
    run (`dvc exp run -S`), as every run left in the study is."""
    base = tiny_study(tmp_path / "base", convergence_epochs=30)
    run, proposed = "train_hybrid@0 train.epochs=30", yaml.safe_load((base / "params.yaml").read_text())["model"]["name"]
    checkpoint = f"checkpoints/{proposed}-fold0.pt"
    first = clone(base, tmp_path / "first", share_cache=False)
    output = stop_after_first_epoch(first, run, tmp_path / "first.log")
    assert f"committed the checkpoint of {run}" in output, output[-3000:]
    newest = git(first, "log", "-1", "--format=%H", "--grep", "^Converged study:").strip()
    assert git(first, "show", "--format=", "--name-only", newest).split() == [checkpoint]
    stopped_at = load_torch(first / checkpoint)["history"]
    assert 1 <= len(stopped_at) < 30

    git(base, "pull", "-q", "--no-rebase", "--no-edit", str(first), newest)  # docs/workflow.md's merge
    second = clone(base, tmp_path / "second", share_cache=False)  # a new machine: git alone
    result = queue(second, *only(second, run))
    assert result.returncode == 0, (result.stdout + result.stderr)[-3000:]
    assert git(second, "log", "-1", "--format=%s").startswith(f"Converged study: {run} (")
    assert git(second, "ls-files", "checkpoints") == ""  # the finished run leaves no checkpoint in git
    assert git(second, "status", "--porcelain", "params.yaml") == ""
    # Resumed, not restarted: the stopped machine's epochs are replayed into the log as they were
    # (a fresh start would time its first epoch anew), and the rest follow to the 30th.
    timings = (second / "runs" / proposed / "fold0" / "plots" / "metrics" / "epoch_seconds.tsv").read_text()
    logged = [float(row.split("\t")[1]) for row in timings.splitlines()[1:]]
    assert len(logged) == 30
    assert logged[:len(stopped_at)] == [record["epoch_seconds"] for record in stopped_at]
