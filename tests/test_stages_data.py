"""The download and split stages as a user runs them: through DVC, in a fresh copy of the repo."""

from __future__ import annotations

import numpy as np
import pytest
import yaml

from cnnlstm.data.source import find_source
from cnnlstm.gate.workspace import copy_repo
from conftest import REPO, run_in

pytestmark = pytest.mark.skipif(find_source(None) is None, reason="no local Fashion-MNIST copy")


@pytest.fixture(scope="module")
def repo(tmp_path_factory):
    return copy_repo(REPO, tmp_path_factory.mktemp("repo"))


def test_repro_split_then_nothing_to_do(repo):
    run_in(repo, "dvc", "repro", "split")
    folds = np.load(repo / "data" / "folds.npy")
    assert len(folds) == 60000 and set(np.unique(folds)) == set(range(10))
    assert len(list((repo / "data" / "raw").iterdir())) == 4
    again = run_in(repo, "dvc", "repro", "split")
    assert "didn't change, skipping" in again.stdout and "Running stage" not in again.stdout


@pytest.mark.parametrize(
    ("stage", "section", "key", "value", "message"),
    [
        ("download", "data", "source", "/nonexistent/fmnist", "/nonexistent/fmnist: source folder from params.yaml data.source does not exist"),
        ("split", "cv", "folds", 1, "params.yaml: cv.folds: must be at least 2, got 1"),
        ("split", "cv", "folds", "ten", "params.yaml: cv.folds: must be int, got 'ten'"),
    ],
)
def test_bad_params_fail_in_one_line_without_outputs(tmp_path, stage, section, key, value, message):
    repo = copy_repo(REPO, tmp_path / "repo")
    if stage == "split":
        run_in(repo, "python", "stages/download.py")
    params = yaml.safe_load((repo / "params.yaml").read_text())
    params[section][key] = value
    (repo / "params.yaml").write_text(yaml.safe_dump(params))
    result = run_in(repo, "python", f"stages/{stage}.py", check=False)
    assert result.returncode == 1
    assert result.stderr.strip() == f"error: {message}"
    output = repo / ("data/raw" if stage == "download" else "data/folds.npy")
    assert not output.exists()


def test_unknown_top_level_key_stops_every_stage(tmp_path):
    repo = copy_repo(REPO, tmp_path / "repo")
    with (repo / "params.yaml").open("a") as fh:
        fh.write("extra: 1\n")
    result = run_in(repo, "python", "stages/download.py", check=False)
    assert result.returncode == 1 and "unknown top-level key 'extra'" in result.stderr
    assert not (repo / "data" / "raw").exists()
