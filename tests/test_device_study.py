"""bench/device_study.sh --cpu: the device script's whole plumbing on the CPU (smoke check, CUDA
tests (skipped), bench rows, a small dvc repro, packing), so its first GPU call is not its first run;
and its `travel`/`stow`/`unstow`, which keep what the device tool sends under its 64 MiB."""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import sys
import tarfile
from pathlib import Path

import pytest

from conftest import REPO


@pytest.mark.slow
def test_device_script_dry_run_packs_every_step(tmp_path):
    out = tmp_path / "out"
    params_before = (REPO / "params.yaml").read_text()
    env = {**os.environ, "OUT": str(out), "PATH": f"{Path(sys.executable).parent}:{os.environ['PATH']}"}
    result = subprocess.run(["bash", str(REPO / "bench/device_study.sh"), "--cpu"], cwd=REPO, env=env,
                            capture_output=True, text=True, timeout=600)
    assert result.returncode == 0, result.stdout[-3000:] + result.stderr[-3000:]
    steps = (out / "steps.txt").read_text()
    for name in ("smoke", "pytest-cuda", "bench-gpu", "study-log"):
        assert f"{name}: exit 0" in steps, steps
    assert "packing" in steps
    assert len(list(out.iterdir())) <= 8  # what the device tool brings back
    rows = (out / "bench-gpu.tsv").read_text().splitlines()
    assert rows[0].startswith("model\t") and rows[1].startswith("cnn16\t") and "error" not in rows[0]
    with tarfile.open(out / "study.tar.gz") as packed:
        run = json.load(packed.extractfile("runs/cnn32_lstm/fold0/run.json"))  # trained by this dry run
        assert "results/cnn32_lstm/fold1.metrics.json" in packed.getnames()
    assert run["step"] == "eager" and run["epochs"] == 1 and run["rnn_dtype"] in ("float32", "bfloat16")
    assert (REPO / "params.yaml").read_text() == params_before  # the study ran in a scratch copy


LIMIT = 64 * 2**20  # the device tool sends at most this much: the working tree's files and the carried paths


def _device_script(clone: Path, command: str) -> subprocess.CompletedProcess:
    return subprocess.run(["bash", "bench/device_study.sh", command], cwd=clone, capture_output=True, text=True)


def _git(clone: Path, *args: str) -> subprocess.CompletedProcess:
    return subprocess.run(["git", *args], cwd=clone, capture_output=True, text=True)


def _tracked_bytes(clone: Path, leave_out: str | None = None) -> int:
    names = _git(clone, "ls-files", "-z").stdout.split("\0")
    return sum((clone / name).stat().st_size for name in names if name and not (leave_out and name.startswith(leave_out)))


def test_stow_sends_the_tree_without_the_store_and_unstow_brings_it_back(tmp_path):
    clone = tmp_path / "clone"
    subprocess.run(["git", "clone", "-q", "--shared", str(REPO), str(clone)], check=True)
    shutil.copy(REPO / "bench/device_study.sh", clone / "bench/device_study.sh")  # the script as it is now
    status = _git(clone, "status", "--porcelain").stdout
    whole, without_store = _tracked_bytes(clone), _tracked_bytes(clone, "dvcstore/")

    measured = _device_script(clone, "travel")
    assert f"travel: {whole // 2**20} MiB" in measured.stdout
    assert measured.returncode == (whole > LIMIT)
    if whole > LIMIT:  # the study's store alone is over the limit: the error names it and the remedy
        assert "dvcstore/ holds" in measured.stderr and "bench/device_study.sh stow" in measured.stderr

    stowed = _device_script(clone, "stow")
    assert stowed.returncode == (without_store > LIMIT), stowed.stderr
    assert f"travel: {without_store // 2**20} MiB" in stowed.stdout
    assert not (clone / "dvcstore").exists()
    assert _git(clone, "status", "--porcelain").stdout == status  # off the disk, still in git
    assert _git(clone, "add", "dvcstore").returncode != 0  # its absence cannot be staged by accident
    assert _git(clone, "diff", "--cached", "--quiet").returncode == 0

    restored = _device_script(clone, "unstow")
    assert restored.returncode == 0, restored.stderr
    assert _tracked_bytes(clone) == whole and _git(clone, "status", "--porcelain").stdout == status
