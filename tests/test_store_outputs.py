"""cnnlstm.store_outputs.done_runs: which of the study queue's runs the DVC remote folder holds whole,
so that a worker on a new machine skips them without a `dvc exp run` to restore each (about 50 s a
run on a 2-core CPU, 40 minutes a worker once the convergence check and the seeds are in)."""

from __future__ import annotations

import copy
import hashlib
import json
import subprocess
import sys
from pathlib import Path

import yaml

from cnnlstm.store_outputs import done_runs, object_path, overridden
from conftest import REPO

PARAMS = {"params.yaml": {"train": {"epochs": 30, "seed": 0, "augment": {"hflip": True}},
                          "models.cnn32": {"hidden": 128}}}
DEPS = [{"path": "src/cnnlstm/training", "hash": "md5", "md5": "c0de.dir", "size": 1, "nfiles": 1}]


def test_an_override_changes_the_tracked_value_it_names_and_nothing_else() -> None:
    before = copy.deepcopy(PARAMS)
    assert overridden(PARAMS, "train.epochs=15")["params.yaml"]["train"] == {
        "epochs": 15, "seed": 0, "augment": {"hflip": True}}
    assert overridden(PARAMS, "train.augment.hflip=false")["params.yaml"]["train"]["augment"] == {"hflip": False}
    assert overridden(PARAMS, "models.cnn32.hidden=64")["params.yaml"]["models.cnn32"] == {"hidden": 64}
    assert overridden(PARAMS, "model.hidden=64") == PARAMS  # a key the stage does not track
    assert PARAMS == before


def stored(store: Path, content: bytes) -> dict:
    """An output `content` put in `store` as DVC does; its dvc.lock / run-cache record."""
    md5 = hashlib.md5(content).hexdigest()
    object_path(store, md5).parent.mkdir(parents=True, exist_ok=True)
    object_path(store, md5).write_bytes(content)
    return {"path": "models/cnn32/fold0.pt", "hash": "md5", "md5": md5, "size": len(content)}


def record(out: dict, params: dict = PARAMS, deps: list = DEPS) -> dict:
    return {"cmd": "python stages/train.py cnn32 0", "deps": deps, "params": params, "outs": [out]}


def entry(store: Path, name: str, content: dict) -> None:
    path = store / "runs" / name[:2] / name / "value"
    path.parent.mkdir(parents=True)
    path.write_text(yaml.safe_dump(content))


def test_a_run_is_done_when_the_store_holds_its_record_and_outputs(tmp_path) -> None:
    store = tmp_path / "store"
    base = record(stored(store, b"30 epochs"))
    lock = tmp_path / "dvc.lock"
    lock.write_text(yaml.safe_dump({"schema": "2.0", "stages": {"train@cnn32-0": base}}))
    entry(store, "aa01", base)
    entry(store, "aa02", record(stored(store, b"15 epochs"), overridden(PARAMS, "train.epochs=15")))
    entry(store, "aa03", record(stored(store, b"seed 1, old code"), overridden(PARAMS, "train.seed=1"),
                                [{**DEPS[0], "md5": "01d.dir"}]))
    lost = stored(store, b"seed 2, weights lost")
    object_path(store, lost["md5"]).unlink()
    entry(store, "aa04", record(lost, overridden(PARAMS, "train.seed=2")))

    runs = ["train@cnn32-0", "train@cnn32-0 train.epochs=15", "train@cnn32-0 train.seed=1",
            "train@cnn32-0 train.seed=2", "train@cnn32-0 train.epochs=20", "train@cnn32-1",
            "train@cnn32-1 train.epochs=15"]
    assert done_runs(store, runs, lock) == ["train@cnn32-0", "train@cnn32-0 train.epochs=15"]
    assert done_runs(store, runs, tmp_path / "no.lock") == []  # a study never run

    object_path(store, base["outs"][0]["md5"]).unlink()
    assert done_runs(store, runs, lock) == ["train@cnn32-0 train.epochs=15"]
    log = stored(store, b"a run's log")
    folder = {"path": "runs/cnn32/fold0", "hash": "md5", "md5": "f0" * 16 + ".dir"}
    object_path(store, folder["md5"]).parent.mkdir(parents=True)
    object_path(store, folder["md5"]).write_text(json.dumps([{"md5": log["md5"], "relpath": "run.json"}]))
    entry(store, "aa05", record(folder, overridden(PARAMS, "train.epochs=20")))
    assert "train@cnn32-0 train.epochs=20" in done_runs(store, runs, lock)
    object_path(store, log["md5"]).unlink()
    assert "train@cnn32-0 train.epochs=20" not in done_runs(store, runs, lock)  # a file of the folder is missing


def test_a_run_with_two_overrides_is_done_from_the_entry_with_both(tmp_path) -> None:
    """Amendment 2's fp32 arm at 60 epochs is `-S train.epochs=60 -S train.precision=fp32`."""
    store = tmp_path / "store"
    lock = tmp_path / "dvc.lock"
    lock.write_text(yaml.safe_dump({"schema": "2.0", "stages": {"train@cnn32-0": record(stored(store, b"30"))}}))
    longer = overridden(PARAMS, "train.epochs=60")
    entry(store, "bb01", record(stored(store, b"60 epochs, seed 1"), overridden(longer, "train.seed=1")))
    entry(store, "bb02", record(stored(store, b"60 epochs"), longer))
    runs = ["train@cnn32-0 train.epochs=60 train.seed=1", "train@cnn32-0 train.seed=1 train.epochs=60",
            "train@cnn32-0 train.epochs=60 train.seed=2", "train@cnn32-0 train.epochs=60"]
    assert done_runs(store, runs, lock) == [runs[0], runs[1], runs[3]]


def test_the_committed_study_is_done_in_the_queues_own_terms() -> None:
    env = {"PATH": f"{Path(sys.executable).parent}:/usr/bin:/bin"}
    listed = subprocess.run(["bash", "scripts/study_queue.sh", "--list"], cwd=REPO, env=env, capture_output=True,
                            text=True, check=True).stdout
    done = subprocess.run([sys.executable, "-m", "cnnlstm.store_outputs", "--done"], cwd=REPO, input=listed,
                          capture_output=True, text=True, check=True).stdout.splitlines()
    plain = [run for run in listed.splitlines() if " " not in run]
    assert len(plain) == 100 and set(plain) <= set(done)  # the 100-run study is whole in dvcstore/
    assert set(done) <= set(listed.splitlines())
