"""The whole pipeline on a small slice of the real data, in a fresh copy of the repository,
driven the way a user drives it: dvc repro, dvc exp run -S ..., dvc exp show, dvc metrics diff."""

from __future__ import annotations

import json
import re

import pytest
import yaml

from cnnlstm.data.source import find_source
from conftest import copy_repo, run_in

pytestmark = [
    pytest.mark.slow,
    pytest.mark.skipif(find_source(None) is None, reason="no local Fashion-MNIST copy"),
]
STUDY = ["cnn16", "lstm"]


def ran_stages(output: str) -> set[str]:
    return set(re.findall(r"Running stage '([^']+)'", output))


@pytest.fixture(scope="module")
def repo(tmp_path_factory):
    """A repository copy with a tiny study, reproduced once and committed like a user would."""
    repo = copy_repo(tmp_path_factory.mktemp("e2e"))
    params = yaml.safe_load((repo / "params.yaml").read_text())
    params["cv"].update(folds=2, fold_ids=[0, 1], subset=0.02)
    params["train"].update(epochs=1, batch_size=64)
    params["eval"].update(test_subset=0.05, tsne_per_class=5)
    params["study"]["models"] = STUDY
    (repo / "params.yaml").write_text(yaml.safe_dump(params, sort_keys=False))
    first = run_in(repo, "dvc", "repro")
    hybrid = params["model"]["name"]
    assert {f"train@{m}-{k}" for m in STUDY for k in (0, 1)} | {f"train_hybrid@{k}" for k in (0, 1)} <= ran_stages(first.stdout)
    run_in(repo, "git", "add", "-A")
    run_in(repo, "git", "-c", "user.name=t", "-c", "user.email=t@example.invalid", "commit", "-qm", "study")
    return repo, hybrid


def test_outputs_of_every_stage(repo):
    repo, hybrid = repo
    summary = json.loads((repo / "metrics" / "summary.json").read_text())
    assert set(summary["models"]) == {*STUDY, hybrid}
    for name in (*STUDY, hybrid):
        for fold in (0, 1):
            assert (repo / "models" / name / f"fold{fold}.pt").is_file()
            assert (repo / "results" / name / f"fold{fold}.npz").is_file()
            assert (repo / "logs" / "train" / name / f"fold{fold}" / "run.json").is_file()
    assert list((repo / "plots").rglob("*.png"))
    assert (repo / "reports" / "REPORT.md").read_text().strip()


def test_second_repro_runs_nothing(repo):
    repo, _ = repo
    again = run_in(repo, "dvc", "repro")
    assert not ran_stages(again.stdout), again.stdout
    assert "up to date" in run_in(repo, "dvc", "status").stdout


def test_changing_the_proposed_model_reruns_only_its_stages(repo):
    repo, hybrid = repo
    result = run_in(repo, "dvc", "exp", "run", "-n", "bidir", "-S", "model.bidirectional=true")
    ran = ran_stages(result.stdout)
    assert {"train_hybrid@0", "train_hybrid@1", "evaluate_hybrid@0", "aggregate"} <= ran
    assert not {s for s in ran if s.startswith(("train@", "evaluate@", "download", "split"))}, ran
    table = run_in(repo, "dvc", "exp", "show", "--md", "--drop", ".*",
                   "--keep", r"Experiment|models\..*\.cv\.accuracy\.mean").stdout
    assert "bidir" in table and f"models.{hybrid}.cv.accuracy.mean" in table, table
    diff = run_in(repo, "dvc", "metrics", "diff", "--json").stdout
    assert f"{hybrid}" in diff
