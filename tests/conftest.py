"""Shared fixtures: tiny synthetic Fashion-MNIST files and small valid params."""

from __future__ import annotations

import copy
import gzip
import os
import struct
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest
import yaml

REPO = Path(__file__).resolve().parents[1]


def idx_bytes(array: np.ndarray) -> bytes:
    """Encode a uint8 array in the IDX format."""
    header = struct.pack(">HBB", 0, 0x08, array.ndim) + struct.pack(f">{array.ndim}I", *array.shape)
    return header + array.astype(np.uint8).tobytes()


def write_idx_gz(path: Path, array: np.ndarray) -> Path:
    path.write_bytes(gzip.compress(idx_bytes(array)))
    return path


def synthetic_split(n: int, seed: int = 0) -> tuple[np.ndarray, np.ndarray]:
    """Images whose class is visible: class k lights up row band k (learnable in a few steps)."""
    rng = np.random.default_rng(seed)
    labels = np.arange(n) % 10
    images = rng.integers(0, 40, size=(n, 28, 28), dtype=np.uint8)
    for i, label in enumerate(labels):
        images[i, 2 * label + 4 : 2 * label + 7, 4:24] = 220
    return images, labels.astype(np.uint8)


@pytest.fixture(autouse=True, scope="session")
def _array_cache(tmp_path_factory: pytest.TempPathFactory) -> None:
    """Parsed-array caches of test files go to a temporary folder, not the repository's .cache."""
    from cnnlstm.data import fashion_mnist

    fashion_mnist.CACHE_DIR = tmp_path_factory.mktemp("array-cache")


@pytest.fixture
def synthetic_raw(tmp_path: Path) -> Path:
    """A raw folder with 200 train / 100 test synthetic images (checksums will not match)."""
    raw = tmp_path / "raw"
    raw.mkdir()
    for split, n in (("train", 200), ("t10k", 100)):
        images, labels = synthetic_split(n, seed=len(split))
        write_idx_gz(raw / f"{split}-images-idx3-ubyte.gz", images)
        write_idx_gz(raw / f"{split}-labels-idx1-ubyte.gz", labels)
    return raw


@pytest.fixture
def base_params() -> dict:
    """The repository's params.yaml as a mapping (tests modify a deep copy), with `train.precision: auto`:
    the study's pre-registered bf16 is refused on a CPU without native bf16, and the tests run on both."""
    return machine_params(yaml.safe_load((REPO / "params.yaml").read_text()))


def machine_params(params: dict) -> dict:
    """A deep copy of `params` that trains in what this machine has (precision auto)."""
    params = copy.deepcopy(params)
    params["train"]["precision"] = "auto"
    return params


def run_in(repo: Path, *command: str, check: bool = True) -> subprocess.CompletedProcess:
    """Run a command in `repo` with the venv's tools first on PATH, as `make` does."""
    env = {**os.environ, "PATH": f"{Path(sys.executable).parent}:{os.environ['PATH']}", "CI": "true"}
    result = subprocess.run(command, cwd=repo, env=env, capture_output=True, text=True)
    if check and result.returncode != 0:
        raise AssertionError(f"{' '.join(command)} failed:\n{result.stdout}\n{result.stderr}")
    return result


# Session fixture of the smoke-profile tests (test_gate_e2e, test_queue, test_remote, test_pipeline_e2e): one pipeline run.
from smoke_fixtures import CLONES_GROUP, smoke_repo  # noqa: E402, F401


@pytest.hookimpl(tryfirst=True)  # before xdist's own hook, which reads the group markers
def pytest_collection_modifyitems(items: list[pytest.Item]) -> None:
    """Under `make test` (`pytest -n N --dist loadgroup --no-loadscope-reorder`) the tests of the smoke
    run form two xdist groups: those marked with smoke_fixtures.CLONES_GROUP, and all others ("smoke").
    Workers take units in this order, longest first, so that they finish together:
    "smoke", so one worker makes the run at once; the other groups and the slow tests, while it does;
    the clones group, whose run is made by then; and the fast unit tests last, to even out the end."""
    def group(item: pytest.Item) -> str | None:
        marker = item.get_closest_marker("xdist_group")
        return marker.args[0] if marker else None

    for item in items:
        if "smoke_repo" in getattr(item, "fixturenames", ()) and group(item) is None:
            item.add_marker(pytest.mark.xdist_group("smoke"))

    def turn(item: pytest.Item) -> int:
        name = group(item)
        if name == "smoke":
            return 0
        if name == CLONES_GROUP:
            return 2
        return 1 if name or item.get_closest_marker("slow") else 3

    items.sort(key=turn)  # stable: keeps file order within a turn
