"""scripts/study_queue.sh, the worker that trains the converged study across sittings, on a tiny
study: the proposed hybrid and cnn16 x 2 folds x 1 epoch on the smoke slice, then the convergence
check's override runs (`dvc exp run -S train.epochs=2`). Every run it commits must be restorable
from git alone: DVC's `push --run-cache` sends only the run-cache entries, and the 2026-12-04 queue
left 52 entries without their models (cnnlstm.store_outputs)."""

from __future__ import annotations

import shutil
import subprocess
from pathlib import Path

import pytest
import yaml

from cnnlstm.gate.profile import profiled_params, write_params
from cnnlstm.gate.workspace import copy_repo, dvc, stage_env
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


@pytest.fixture(scope="module")
def worked(tmp_path_factory: pytest.TempPathFactory) -> tuple[Path, str]:
    """The tiny study, committed with an empty store, and one worker's whole queue run in a clone."""
    base = copy_repo(REPO, tmp_path_factory.mktemp("queue") / "base")
    for folder in ("files", "runs"):
        shutil.rmtree(base / "dvcstore" / folder, ignore_errors=True)
    params = profiled_params(REPO / "params.yaml", SMOKE_PROFILE)
    params["study"].update(models=["cnn16"], main_models=["cnn16", params["model"]["name"]], seeds=[0],
                           convergence_epochs=2)
    write_params(base, params)
    git(base, "add", "-A")
    git(base, "commit", "-qm", "tiny study, empty store")
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
