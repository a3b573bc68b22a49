"""One smoke-profile pipeline run per test session, shared by the gate, queue and remote tests.

Imported by tests/conftest.py so that the session-scoped fixture exists once for all modules.
Under pytest-xdist the smoke tests form two groups (tests/conftest.py): the tests that work in the
run itself, and the queued sweep (CLONES_GROUP), the longest, which only clones it. Whichever
worker comes first makes the run under a file lock; the other waits for it and reuses it, then the
two groups run side by side.
"""

from __future__ import annotations

import fcntl
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
CLONES_GROUP = "smoke-clones"  # xdist group of smoke tests that only clone the run: the queued sweep
needs_dataset = pytest.mark.skipif(find_source(None) is None, reason="no local Fashion-MNIST copy")


def git(repo: Path, *args: str) -> str:
    return subprocess.run(["git", *GIT_IDENTITY, *args], cwd=repo, capture_output=True, text=True, check=True).stdout


def finished_run(folder: Path) -> Path | None:
    """`folder` if it holds a smoke run that is up to date with its code, else None."""
    if not (folder / "metrics" / "summary.json").is_file():
        return None
    return folder if UP_TO_DATE in dvc(folder, "status") else None


def _shared_folder(tmp_path_factory: pytest.TempPathFactory) -> Path | None:
    """Where this session's smoke run lives: $CNNLSTM_SMOKE_DIR; else, under xdist, a folder that
    all workers of this test run share; else None (a private temporary folder)."""
    if os.environ.get(REUSE_ENV):
        return Path(os.environ[REUSE_ENV])
    run_id = os.environ.get("PYTEST_XDIST_TESTRUNUID")
    return tmp_path_factory.getbasetemp().parent / f"smoke-{run_id}" if run_id else None


def _make_run(folder: Path) -> Path:
    repo = copy_repo(REPO, folder)
    write_params(repo, profiled_params(REPO / "params.yaml", SMOKE_PROFILE))
    git(repo, "commit", "-qam", "smoke profile")  # the report then names a commit any clone has
    dvc(repo, "repro")
    git(repo, "add", "-A")
    git(repo, "commit", "-q", "-m", "smoke run")
    return repo


@pytest.fixture(scope="session")
def smoke_repo(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A repository copy on the smoke profile, reproduced and committed as a user would.
    With $CNNLSTM_SMOKE_DIR the run is made there (or reused if finished) and kept: .ci/run then
    has the gate judge it (`--check`), so the pipeline runs once per CI."""
    shared = _shared_folder(tmp_path_factory)
    if shared is None:
        return _make_run(tmp_path_factory.mktemp("smoke"))
    shared.parent.mkdir(parents=True, exist_ok=True)
    test_run = os.environ.get("PYTEST_XDIST_TESTRUNUID", "")
    ready = shared.parent / f"{shared.name}.ready"  # names the test run that made or checked the run
    with open(shared.parent / f"{shared.name}.lock", "w") as lock:
        fcntl.flock(lock, fcntl.LOCK_EX)  # held until the run is made; closing the file releases it
        if test_run and ready.is_file() and ready.read_text() == test_run:
            return shared  # no `dvc status` here: another worker's tests may hold the run's DVC lock
        # A folder left half-made (an interrupted session) is not reused: this run goes elsewhere.
        repo = finished_run(shared) or _make_run(tmp_path_factory.mktemp("smoke") if shared.exists() else shared)
        if repo == shared:
            ready.write_text(test_run)
        return repo


def clone(source: Path, dest: Path, *, share_cache: bool) -> Path:
    """`git clone` of `source`. With `share_cache`, DVC uses the source's cache, from which the
    outputs are checked out; without, the clone starts with an empty cache like a new machine."""
    subprocess.run(["git", "clone", "-q", str(source), str(dest)], check=True)
    for key, value in (("user.name", "cnnlstm tests"), ("user.email", "tests@cnnlstm.invalid")):
        git(dest, "config", key, value)  # `dvc exp` commits; CI may have no global identity
    if share_cache:
        # The source's default cache, named without running DVC there: another worker may hold its lock.
        dvc(dest, "config", "--local", "cache.dir", str(source / ".dvc" / "cache"))
        dvc(dest, "checkout")
    return dest
