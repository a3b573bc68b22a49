"""`python -m cnnlstm.small_study` works on a plain PATH: it runs this environment's dvc, and the
stages DVC starts get this environment's python."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import pytest

from cnnlstm import small_study
from conftest import REPO


def test_it_runs_the_venvs_dvc_with_the_venvs_bin_first_on_path(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("PATH", "/usr/bin:/bin")  # a plain shell: no venv activated
    monkeypatch.chdir(REPO)
    seen = {}

    def fake_run(command: list[str], env: dict[str, str]) -> subprocess.CompletedProcess:
        seen.update(command=command, env=env)
        return subprocess.CompletedProcess(command, 0)

    monkeypatch.setattr(small_study.subprocess, "run", fake_run)
    assert small_study.main(["profiles/small.yaml", "--name", "t"]) == 0
    bin_dir = Path(sys.executable).parent
    assert seen["command"][:6] == [str(bin_dir / "dvc"), "exp", "run", "--temp", "-n", "t"]
    assert "cv.subset=0.1" in seen["command"] and seen["env"]["PATH"].split(":")[0] == str(bin_dir)


def test_help_works_from_a_plain_path() -> None:
    done = subprocess.run([sys.executable, "-m", "cnnlstm.small_study", "--help"], cwd=REPO, capture_output=True,
                          text=True, env={"PATH": "/usr/bin:/bin", "PYTHONPATH": str(REPO / "src")}, timeout=60)
    assert done.returncode == 0 and "dvc exp run" in done.stdout
