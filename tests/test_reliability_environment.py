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

import numpy as np
import pytest
import yaml

from cnnlstm.core.atomic import atomic_dir, write_json, write_text
from cnnlstm.core.errors import CnnLstmError
from cnnlstm.evaluation.predictions import Predictions, save_predictions
from conftest import REPO
from reliability_helpers import tiny_run

pytestmark = pytest.mark.slow
IS_ROOT = os.geteuid() == 0


# Root mounts directly; elsewhere (GitHub's runners) password-less sudo does.
SUDO = [] if IS_ROOT else ["sudo", "-n"]
CAN_MOUNT = IS_ROOT or subprocess.run(["sudo", "-n", "true"], capture_output=True).returncode == 0


@contextlib.contextmanager
def mounted(target: Path, *options: str) -> Iterator[None]:
    target.mkdir(exist_ok=True)
    result = subprocess.run([*SUDO, "mount", *options, str(target)], capture_output=True, text=True)
    if result.returncode != 0:
        pytest.skip(f"cannot mount here: {result.stderr.strip()}")
    try:
        yield
    finally:
        subprocess.run([*SUDO, "umount", str(target)], check=True)


@contextlib.contextmanager
def small_disk(target: Path, size: str, fill: bool = False) -> Iterator[None]:
    """A tmpfs of `size` at `target`, owned by this user; `fill`: no byte left free."""
    with mounted(target, "-t", "tmpfs", "-o", f"size={size},uid={os.getuid()},gid={os.getgid()}", "tmpfs"):
        if fill:
            with contextlib.suppress(OSError), (target / "filler").open("wb") as fh:
                while True:
                    fh.write(bytes(1 << 16))
                    fh.flush()
        yield


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


@pytest.mark.skipif(not CAN_MOUNT, reason="mounting a small tmpfs needs root or password-less sudo")
def test_disk_full_during_download(tmp_path, base_params):
    base_params["data"]["source"] = str(source_folder(tmp_path / "source"))
    disk = tmp_path / "disk"
    with small_disk(disk, "1m"):
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
        assert_one_line(run_stage(cwd, "train.py", "cnn16", "0"), "error: runs/cnn16/fold0: cannot write it (")
        assert not (cwd / "models").exists()


@pytest.mark.skipif(not CAN_MOUNT, reason="mounting a small tmpfs needs root or password-less sudo")
@pytest.mark.parametrize(("folder", "size", "fill", "named"), [
    ("checkpoints", "200k", False, "checkpoints/cnn16-fold0.pt"),  # torch.save, ~200 KB free
    ("checkpoints", "200k", True, "checkpoints/cnn16-fold0.pt"),  # 0 bytes free
    ("models", "200k", True, "models/cnn16/fold0.pt"),
    ("runs", "200k", True, "runs/cnn16/fold0"),  # dvclive's JSON and TSV files, run.json
])
def test_disk_full_during_training(tmp_path, base_params, folder, size, fill, named):
    tiny_run(tmp_path, base_params)
    with small_disk(tmp_path / folder, size, fill):
        result = run_stage(tmp_path, "train.py", "cnn16", "0")
        errors = [line for line in result.stderr.splitlines() if not line.startswith("[cnn16 fold 0]")]  # progress
        assert result.returncode == 1 and "Traceback" not in result.stderr
        assert errors == [f"error: {named}: cannot write it (No space left on device); nothing was written"]
        assert [p.name for p in (tmp_path / folder).rglob("*") if p.is_file()] == (["filler"] if fill else [])
    assert not (tmp_path / "models" / "cnn16" / "fold0.pt").exists()
    assert not (tmp_path / "runs" / "cnn16" / "fold0").exists()


@pytest.mark.skipif(not CAN_MOUNT, reason="mounting a small tmpfs needs root or password-less sudo")
def test_disk_full_during_json_and_npz_saves(tmp_path):
    """What the evaluate and aggregate stages write: JSON, .npz predictions, a folder swapped in."""
    rng = np.random.default_rng(0)
    probs = rng.random((50_000, 10), dtype=np.float32)  # ~2 MB compressed: more than the disk
    predictions = Predictions(np.arange(50_000), np.arange(50_000) % 10, probs, np.arange(2), np.arange(2),
                              probs[:2], np.arange(2), np.arange(2), probs[:2], "0" * 64)
    disk = tmp_path / "disk"
    with small_disk(disk, "200k", fill=True):
        writes = {
            "metrics.json": lambda path: write_json(path, {"accuracy": list(range(100_000))}),
            "fold0.npz": lambda path: save_predictions(path, predictions),
            "tables/models.md": lambda path: write_tables(path.parent, "x" * 300_000),
        }
        for name, write in writes.items():
            with pytest.raises(CnnLstmError) as error:
                write(disk / name)
            assert str(error.value) == f"{disk / name}: cannot write it (No space left on device); nothing was written"
        assert [p.name for p in disk.iterdir()] == ["filler"]


def write_tables(folder: Path, text: str) -> None:
    """As the aggregate stage writes reports/tables: files in a folder swapped in whole."""
    with atomic_dir(folder) as tmp:
        write_text(tmp / "models.md", text)
