"""The report's stamp names the last commit that changed code or parameters, so a rerun in a clone
of that state writes the same bytes (HEAD would be the commit holding the report itself)."""

from __future__ import annotations

import subprocess
from pathlib import Path

import pytest

from cnnlstm.prediction.provenance import code_version


def git(repo: Path, *args: str) -> str:
    identity = ["-c", "user.name=t", "-c", "user.email=t@t.invalid"]
    return subprocess.run(["git", *identity, *args], cwd=repo, check=True, capture_output=True, text=True).stdout


@pytest.fixture
def repo(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    git(tmp_path, "init", "-q")
    (tmp_path / "src").mkdir()
    (tmp_path / "src" / "code.py").write_text("x = 1\n")
    git(tmp_path, "add", "-A")
    git(tmp_path, "commit", "-qm", "code")
    monkeypatch.chdir(tmp_path)
    return tmp_path


def test_a_commit_of_outputs_only_keeps_the_stamp(repo: Path) -> None:
    code_commit, date = git(repo, "log", "-1", "--format=%H %cs").split()
    (repo / "reports").mkdir()
    (repo / "reports" / "REPORT.md").write_text("results\n")
    git(repo, "add", "-A")
    git(repo, "commit", "-qm", "results")
    assert code_version() == f"commit `{code_commit[:10]}` ({date})"


def test_a_clone_stamps_the_same(repo: Path, tmp_path_factory: pytest.TempPathFactory,
                                 monkeypatch: pytest.MonkeyPatch) -> None:
    here = code_version()
    clone = tmp_path_factory.mktemp("clone") / "repo"
    subprocess.run(["git", "clone", "-q", str(repo), str(clone)], check=True)
    monkeypatch.chdir(clone)
    assert code_version() == here


def test_changed_code_or_parameters_are_named(repo: Path) -> None:
    (repo / "notes.txt").write_text("not code\n")
    assert "uncommitted" not in code_version()
    (repo / "params.yaml").write_text("lr: 0.1\n")  # new, untracked: a clone would not have it
    assert code_version().endswith("plus uncommitted changes")
    git(repo, "add", "params.yaml")
    git(repo, "commit", "-qm", "parameters")
    assert "uncommitted" not in code_version()
    (repo / "src" / "code.py").write_text("x = 2\n")
    assert code_version().endswith("plus uncommitted changes")
    git(repo, "commit", "-qam", "new code")
    assert code_version().startswith(f"commit `{git(repo, 'rev-parse', 'HEAD')[:10]}`")


def test_outside_git(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.chdir(tmp_path)
    monkeypatch.setenv("GIT_CEILING_DIRECTORIES", str(tmp_path.parent))
    assert code_version() == "unknown (not a git checkout)"
