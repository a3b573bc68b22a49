"""A full disk and a read-only checkout: one line naming the path, a non-zero exit, nothing half-written.

Needs mount(8) as root (CI runs as root) for a 1 MB tmpfs and a read-only bind mount; without root the
read-only checkout falls back to removing write permission, and the disk-full case is skipped."""

from __future__ import annotations

import contextlib
import os
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path

import pytest
import yaml

from conftest import REPO
from reliability_helpers import tiny_run

pytestmark = pytest.mark.slow
IS_ROOT = os.geteuid() == 0


@contextlib.contextmanager
def mounted(target: Path, *options: str) -> Iterator[None]:
    target.mkdir(exist_ok=True)
    result = subprocess.run(["mount", *options, str(target)], capture_output=True, text=True)
    if result.returncode != 0:
        pytest.skip(f"cannot mount here: {result.stderr.strip()}")
    try:
        yield
    finally:
        subprocess.run(["umount", str(target)], check=True)


@contextlib.contextmanager
def read_only(source: Path, target: Path) -> Iterator[Path]:
    """`source` seen read-only at `target` (root ignores permission bits, so root bind-mounts it)."""
    if not IS_ROOT:
        for path in (source, *source.rglob("*")):
            path.chmod(path.stat().st_mode & ~0o222)
        yield source
        for path in (source, *source.rglob("*")):
            path.chmod(path.stat().st_mode | 0o200)
        return
    with mounted(target, "--bind", str(source)):
        subprocess.run(["mount", "-o", "remount,bind,ro", str(target)], check=True)
        yield target


def run_stage(cwd: Path, script: str, *args: str) -> subprocess.CompletedProcess:
    return subprocess.run([sys.executable, str(REPO / "stages" / script), *args], cwd=cwd,
                          env={**os.environ, "CI": "true"}, capture_output=True, text=True)


def assert_one_line(result: subprocess.CompletedProcess, start: str) -> None:
    assert result.returncode == 1
    assert "Traceback" not in result.stderr
    lines = result.stderr.strip().splitlines()
    assert len(lines) == 1 and lines[0].startswith(start), result.stderr


def source_folder(path: Path) -> Path:
    """Four 2 MB stand-ins for the .gz files: copying the first one fills a 1 MB disk."""
    path.mkdir()
    for name in ("train-images-idx3-ubyte", "train-labels-idx1-ubyte", "t10k-images-idx3-ubyte", "t10k-labels-idx1-ubyte"):
        (path / f"{name}.gz").write_bytes(os.urandom(2 << 20))
    return path


@pytest.mark.skipif(not IS_ROOT, reason="mounting a small tmpfs needs root")
def test_disk_full_during_download(tmp_path, base_params):
    base_params["data"]["source"] = str(source_folder(tmp_path / "source"))
    disk = tmp_path / "disk"
    with mounted(disk, "-t", "tmpfs", "-o", "size=1m", "tmpfs"):
        (disk / "params.yaml").write_text(yaml.safe_dump(base_params))
        result = run_stage(disk, "download.py")
        assert_one_line(result, "error: data/raw: cannot write it (No space left on device); nothing was written")
        assert list((disk / "data").iterdir()) == []  # neither data/raw nor a temporary folder


def test_download_in_a_read_only_checkout(tmp_path, base_params):
    base_params["data"]["source"] = str(source_folder(tmp_path / "source"))
    checkout = tmp_path / "checkout"
    checkout.mkdir()
    (checkout / "params.yaml").write_text(yaml.safe_dump(base_params))
    with read_only(checkout, tmp_path / "ro") as cwd:
        assert_one_line(run_stage(cwd, "download.py"), "error: data/raw: cannot write it (")


def test_train_in_a_read_only_checkout(tmp_path, base_params):
    tiny_run(tmp_path / "checkout", base_params)
    with read_only(tmp_path / "checkout", tmp_path / "ro") as cwd:
        assert_one_line(run_stage(cwd, "train.py", "cnn16", "0"), "error: logs: ")  # dvclive's folder, the first write
        assert not (cwd / "models").exists()
