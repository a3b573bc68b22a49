"""The committed study's runs still match the pipeline: an edit to the training code, the data code
or the training params would make every committed run retrain (cnnlstm.study_drift)."""

from __future__ import annotations

import subprocess
import sys

from conftest import REPO

from cnnlstm.store_outputs import describe, entries_without_outputs, not_pushed
from cnnlstm.study_drift import changed_deps, committed_entries, drifted_stages, report

ENTRY = {
    "cmd": "python stages/train.py cnn32 0",
    "deps": [{"path": "src/cnnlstm/training", "md5": "aaa.dir"}, {"path": "data/raw", "md5": "bbb.dir"}],
    "params": {"params.yaml": {"train": {"epochs": 30}, "models.cnn32": {"channels": [32, 32]}}},
}
PARAMS = {"params.yaml": {"train": {"epochs": 30}, "models.cnn32": {"channels": [32, 32]}}}


def test_an_unchanged_stage_has_no_changes_and_a_dep_not_there_yet_is_not_compared() -> None:
    assert changed_deps(ENTRY, {"src/cnnlstm/training": "aaa.dir", "data/raw": "bbb.dir"}, PARAMS) == []
    assert changed_deps(ENTRY, {"src/cnnlstm/training": "aaa.dir", "data/raw": None}, PARAMS) == []


def test_changed_code_params_and_dep_lists_are_each_named() -> None:
    edited = {"src/cnnlstm/training": "ccc.dir", "data/raw": "bbb.dir"}
    assert changed_deps(ENTRY, edited, PARAMS) == ["src/cnnlstm/training"]
    more_epochs = {"params.yaml": {"train": {"epochs": 31}, "models.cnn32": {"channels": [32, 32]}}}
    assert changed_deps(ENTRY, {"src/cnnlstm/training": "aaa.dir", "data/raw": "bbb.dir"}, more_epochs) == [
        "params.yaml:train"]
    assert changed_deps(ENTRY, {"src/cnnlstm/training": "aaa.dir"}, PARAMS) == ["data/raw"]
    message = report({"train@cnn32-0": ["src/cnnlstm/training"], "train@cnn32-1": ["src/cnnlstm/training"]})
    assert "2 stages" in message and "src/cnnlstm/training (2 stages)" in message and "\n" not in message


def test_the_committed_study_runs_match_the_code_that_would_continue_it(monkeypatch) -> None:
    entries = committed_entries(REPO / "dvcstore")
    trained = [cmd for cmd in entries if cmd.startswith("python stages/train.py")]
    assert trained, "dvcstore/ holds no committed training runs"
    monkeypatch.chdir(REPO)  # DVC's Repo() is the working directory's
    drifted = drifted_stages(REPO / "dvcstore")
    assert not drifted, report(drifted)


def test_another_stages_output_is_compared_once_it_is_all_there(tmp_path, monkeypatch) -> None:
    # A fresh clone's models/cnn32/ holds only its .gitignore: not compared (its train stages are).
    clone = tmp_path / "clone"
    subprocess.run(["git", "clone", "-q", "--shared", str(REPO), str(clone)], check=True)
    monkeypatch.chdir(clone)
    assert "evaluate@cnn32" not in drifted_stages(clone / "dvcstore")
    # Once every fold file is there, evaluate@cnn32 is judged on them: these are not the trained ones.
    for fold in range(10):
        (clone / "models" / "cnn32" / f"fold{fold}.pt").write_bytes(b"not the trained weights")
    assert drifted_stages(clone / "dvcstore")["evaluate@cnn32"] == ["models/cnn32"]


def test_every_committed_run_cache_entry_has_its_outputs_in_the_store() -> None:
    # An entry without its outputs looks kept but is lost: a restore finds it and trains again.
    store = REPO / "dvcstore"
    missing = entries_without_outputs(store, not_pushed(REPO / "dvc.yaml"))
    assert not missing, describe(missing, store)
    assert not_pushed(REPO / "dvc.yaml") == {"data/raw"}


def test_the_store_check_names_a_folder_that_holds_no_runs(tmp_path) -> None:
    result = subprocess.run([sys.executable, "-m", "cnnlstm.store_outputs", str(tmp_path)], capture_output=True,
                            text=True, cwd=REPO)
    assert result.returncode == 1 and result.stderr.count("\n") == 1
    assert f"{tmp_path}/runs: no run-cache entries there" in result.stderr
