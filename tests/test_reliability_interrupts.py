"""SIGINT and SIGTERM: in a stage, one line, exit 130 or 143, nothing half-written, and the rerun
continues; during `make repro` (cnnlstm.timed_repro), one line, and DVC left clean for the next command."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest
import yaml

from cnnlstm.timed_repro import STOPPED
from conftest import REPO
from reliability_helpers import tiny_run

ENV = {**os.environ, "PYTHONPATH": str(REPO / "src"), "CI": "true",
       "PATH": f"{Path(sys.executable).parent}:{os.environ['PATH']}"}

# A stage writing its output atomically, stopped (by a signal) while the temporary file is half-written.
SLOW_WRITER = """
import sys, time
from pathlib import Path
from cnnlstm.core.atomic import atomic_path
from cnnlstm.core.errors import exit_on_error

@exit_on_error
def main():
    with atomic_path("out.txt") as tmp:
        tmp.write_text("half")
        print("writing", flush=True)
        while Path("slow").exists():
            time.sleep(0.05)
        tmp.write_text("whole")

main()
"""


def wait_for(process: subprocess.Popen, text: str, timeout: float = 60) -> str:
    """Read the process's stdout until a line contains `text`."""
    seen = []
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        line = process.stdout.readline()
        seen.append(line)
        if text in line:
            return "".join(seen)
        if not line and process.poll() is not None:
            break
    process.kill()
    pytest.fail(f"never printed {text!r}:\n{''.join(seen)}")


def leftovers(folder: Path) -> list[str]:
    return sorted(str(p.relative_to(folder)) for p in folder.rglob(".*.tmp"))


@pytest.mark.parametrize(("signum", "code"), [(signal.SIGINT, 130), (signal.SIGTERM, 143)])
def test_signal_in_a_stage_is_one_line_and_writes_nothing(tmp_path, signum, code):
    (tmp_path / "stage.py").write_text(SLOW_WRITER)
    (tmp_path / "slow").touch()
    process = subprocess.Popen([sys.executable, "stage.py"], cwd=tmp_path, env=ENV, text=True,
                               stdout=subprocess.PIPE, stderr=subprocess.PIPE)
    wait_for(process, "writing")
    process.send_signal(signum)
    _, stderr = process.communicate(timeout=30)
    name = signal.Signals(signum).name
    assert process.returncode == code
    assert stderr.splitlines() == [f"error: interrupted by {name}; nothing half-written is left, rerun to continue"]
    assert not (tmp_path / "out.txt").exists() and leftovers(tmp_path) == []


@pytest.mark.slow
def test_ctrl_c_in_the_train_stage_then_the_rerun_resumes(tmp_path, base_params):
    """The train stage stopped in epoch 3 of 4: no model, no log folder, no temporary file; the rerun
    starts from the checkpoint of epoch 2 and finishes."""
    tiny_run(tmp_path, base_params, epochs=4)
    command = [sys.executable, str(REPO / "stages" / "train.py"), "cnn16", "0"]
    process = subprocess.Popen(command, cwd=tmp_path, env=ENV, text=True, stdout=subprocess.PIPE,
                               stderr=subprocess.PIPE)
    checkpoint = tmp_path / "checkpoints" / "cnn16-fold0.pt"
    deadline = time.monotonic() + 120
    while not checkpoint.exists() and time.monotonic() < deadline and process.poll() is None:
        time.sleep(0.02)
    process.send_signal(signal.SIGINT)
    _, stderr = process.communicate(timeout=60)
    assert process.returncode == 130, stderr
    assert stderr.strip().splitlines()[-1].startswith("error: interrupted by SIGINT")
    assert "Traceback" not in stderr
    assert not (tmp_path / "models" / "cnn16" / "fold0.pt").exists()
    assert not (tmp_path / "runs" / "cnn16" / "fold0").exists()
    assert leftovers(tmp_path) == []
    rerun = subprocess.run(command, cwd=tmp_path, env=ENV, text=True, capture_output=True)
    assert rerun.returncode == 0, rerun.stderr
    assert (tmp_path / "models" / "cnn16" / "fold0.pt").is_file()
    assert (tmp_path / "runs" / "cnn16" / "fold0" / "metrics.json").read_text().strip() not in ("", "{}")


def dvc_repo(folder: Path) -> Path:
    """A DVC project with the repository's params.yaml and one slow stage (SLOW_WRITER)."""
    folder.mkdir()
    (folder / "params.yaml").write_text((REPO / "params.yaml").read_text())
    (folder / "stage.py").write_text(SLOW_WRITER)
    (folder / "dvc.yaml").write_text(yaml.safe_dump(
        {"stages": {"slow": {"cmd": "python stage.py", "deps": ["stage.py"], "outs": ["out.txt"]}}}))
    for command in (["git", "init", "-q"], ["dvc", "init", "-q"]):
        subprocess.run(command, cwd=folder, env=ENV, check=True)
    return folder


@pytest.mark.slow
def test_ctrl_c_during_make_repro_is_one_line_and_leaves_dvc_clean(tmp_path):
    repo = dvc_repo(tmp_path / "repo")
    (repo / "slow").touch()
    # its own session, as a terminal's foreground job: Ctrl-C is SIGINT to its whole process group
    process = subprocess.Popen([sys.executable, "-m", "cnnlstm.timed_repro"], cwd=repo, env=ENV, text=True,
                               stdout=subprocess.PIPE, stderr=subprocess.PIPE, start_new_session=True)
    wait_for(process, "writing")
    os.killpg(process.pid, signal.SIGINT)
    stdout, stderr = process.communicate(timeout=60)
    assert process.returncode == 130
    assert stderr.splitlines() == [STOPPED]
    assert "Traceback" not in stdout + stderr
    assert not (repo / "out.txt").exists() and leftovers(repo) == []
    status = subprocess.run(["dvc", "status"], cwd=repo, env=ENV, text=True, capture_output=True)
    assert status.returncode == 0 and "lock" not in (status.stdout + status.stderr).lower(), status.stderr
    (repo / "slow").unlink()
    rerun = subprocess.run(["dvc", "repro"], cwd=repo, env=ENV, text=True, capture_output=True)
    assert rerun.returncode == 0, rerun.stdout + rerun.stderr
    assert (repo / "out.txt").read_text() == "whole"
