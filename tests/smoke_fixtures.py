"""One smoke-profile pipeline run per test session, shared by the gate, queue and remote tests.

Imported by tests/conftest.py so that the session-scoped fixture exists once for all modules.
"""

from __future__ import annotations

import os
import subprocess
from pathlib import Path

import pytest

from cnnlstm.data.source import find_source
from cnnlstm.gate.profile import profiled_params, write_params
from cnnlstm.gate.workspace import GIT_IDENTITY, UP_TO_DATE, copy_repo, dvc

REPO = Path(__file__).resolve().parents[1]
SMOKE_PROFILE = REPO / "profiles" / "smoke.yaml"
REUSE_ENV = "CNNLSTM_SMOKE_DIR"  # where .ci/run keeps the smoke run for the gate; a finished run there is reused
needs_dataset = pytest.mark.skipif(find_source(None) is None, reason="no local Fashion-MNIST copy")


def git(repo: Path, *args: str) -> str:
    return subprocess.run(["git", *GIT_IDENTITY, *args], cwd=repo, capture_output=True, text=True, check=True).stdout


def finished_run(folder: str | None) -> Path | None:
    """`folder` if it holds a smoke run that is up to date with its code, else None."""
    if not folder or not (Path(folder) / "metrics" / "summary.json").is_file():
        return None
    return Path(folder) if UP_TO_DATE in dvc(folder, "status") else None


def _claim(folder: str | None) -> Path | None:
    """`folder`, created by this process (so a second pytest process never writes into it), or None."""
    if not folder:
        return None
    try:
        Path(folder).mkdir(parents=True)
    except FileExistsError:
        return None
    return Path(folder)


@pytest.fixture(scope="session")
def smoke_repo(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A repository copy on the smoke profile, reproduced and committed as a user would.
    With $CNNLSTM_SMOKE_DIR the run is made there (or reused if finished) and kept: .ci/run then
    has the gate judge it (`--check`), so the pipeline runs once per CI."""
    reuse = os.environ.get(REUSE_ENV)
    repo = finished_run(reuse)
    if repo is None:
        repo = copy_repo(REPO, _claim(reuse) or tmp_path_factory.mktemp("smoke"))
        write_params(repo, profiled_params(REPO / "params.yaml", SMOKE_PROFILE))
        dvc(repo, "repro")
    git(repo, "add", "-A")
    git(repo, "commit", "-q", "--allow-empty", "-m", "smoke run")
    return repo


def clone(source: Path, dest: Path, *, share_cache: bool) -> Path:
    """`git clone` of `source`. With `share_cache`, DVC uses the source's cache, from which the
    outputs are checked out; without, the clone starts with an empty cache like a new machine."""
    subprocess.run(["git", "clone", "-q", str(source), str(dest)], check=True)
    for key, value in (("user.name", "cnnlstm tests"), ("user.email", "tests@cnnlstm.invalid")):
        git(dest, "config", key, value)  # `dvc exp` commits; CI may have no global identity
    if share_cache:
        dvc(dest, "config", "--local", "cache.dir", dvc(source, "cache", "dir").strip())
        dvc(dest, "checkout")
    return dest
