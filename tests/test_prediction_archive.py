"""A zip bomb given to `cnnlstm predict` is refused in one line before torch is imported (issue 29:
torch alone is ~640 MB resident; the bomb must be refused under 200 MB peak)."""

from __future__ import annotations

import hashlib
import json
import os
import subprocess
import sys
import zipfile
from pathlib import Path

import pytest

from cnnlstm.core.atomic import write_json
from cnnlstm.core.errors import CnnLstmError
from cnnlstm.prediction.archive import check_archive

from conftest import REPO
from test_prediction_models import save_tiny
from test_reliability_model_files import CNNLSTM, crafted_model

DECLARED = 256 << 20  # inflated, more than the 200 MB the refusal may take
# Runs a command and prints its peak resident memory in kB: the only child of this wrapper.
PEAK_RSS = ("import resource, subprocess, sys; code = subprocess.run(sys.argv[1:]).returncode; "
            "print(resource.getrusage(resource.RUSAGE_CHILDREN).ru_maxrss); sys.exit(code)")


@pytest.fixture(scope="module")
def files(tmp_path_factory: pytest.TempPathFactory) -> tuple[Path, Path]:
    """A real model file and a bomb: its metadata, one tensor record of DECLARED deflated zeros."""
    folder = tmp_path_factory.mktemp("archive")
    good = save_tiny(folder / "good.pt")
    bomb = crafted_model(folder / "bomb.pt", good, DECLARED // 4, DECLARED, compress=True)
    return good, bomb


def test_a_real_model_file_passes(files: tuple[Path, Path]) -> None:
    good, _ = files
    assert check_archive(good) is None


@pytest.mark.parametrize("content", [None, b"", b"not a zip archive"])
def test_missing_or_non_zip_files_are_left_to_the_loader(tmp_path: Path, content: bytes | None) -> None:
    path = tmp_path / "odd.pt"
    if content is not None:
        path.write_bytes(content)
    assert check_archive(path) is None


def test_a_bomb_is_refused_in_one_line_naming_file_and_record(files: tuple[Path, Path]) -> None:
    _, bomb = files
    assert bomb.stat().st_size < DECLARED // 100
    with pytest.raises(CnnLstmError) as error:
        check_archive(bomb)
    message = str(error.value)
    assert "\n" not in message and message.startswith(f"{bomb}: its records declare 268.4 MB uncompressed in a ")
    assert "(archive/data/0 268.4 MB)" in message and "(a zip bomb?)" in message


def test_many_small_records_are_bounded_by_their_total(tmp_path: Path) -> None:
    """No record alone declares more than the file holds; all of them together do."""
    path = tmp_path / "spread.pt"
    with zipfile.ZipFile(path, "w", zipfile.ZIP_DEFLATED) as archive:
        for k in range(1000):
            archive.writestr(f"archive/data/{k}", bytes(64 << 10))
    size = path.stat().st_size
    assert all(info.file_size < size for info in zipfile.ZipFile(path).infolist())
    with pytest.raises(CnnLstmError, match="declare 65.5 MB uncompressed in a "):
        check_archive(path)


def study_with_bomb(root: Path, bomb: Path, where: str) -> list[str]:
    """The bomb as fold1 of model `tiny` under `where` (models/ or pretrained/, with a manifest
    recording its sha256), the best model of the summary; the `--model` arguments that choose it."""
    folder = root / where / "tiny"
    folder.mkdir(parents=True)
    save_tiny(folder / "fold0.pt")
    (folder / "fold1.pt").write_bytes(bomb.read_bytes())
    write_json(root / "metrics" / "summary.json", {"best_model": "tiny", "folds": 2, "models": {}})
    if where == "pretrained":
        digests = [{"file": f"tiny/{p.name}", "sha256": hashlib.sha256(p.read_bytes()).hexdigest()}
                   for p in sorted(folder.glob("*.pt"))]
        (root / where / "manifest.json").write_text(json.dumps({"files": digests}))
        return []  # the default: the best model, shipped
    return ["--model", "tiny"]


def predict(cwd: Path, model_args: list[str], tmp_path: Path) -> subprocess.CompletedProcess:
    """The installed `cnnlstm predict` with a `torch` that cannot be imported, under PEAK_RSS."""
    poison = tmp_path / "poison" / "torch"
    poison.mkdir(parents=True, exist_ok=True)
    (poison / "__init__.py").write_text('raise ImportError("torch was imported")\n')
    (cwd / "image.png").write_bytes(b"not read: the model files are checked first")
    env = {**os.environ, "CI": "true", "PYTHONPATH": f"{poison.parent}{os.pathsep}{REPO / 'src'}"}
    return subprocess.run([sys.executable, "-c", PEAK_RSS, CNNLSTM, "predict", *model_args, "image.png"],
                          cwd=cwd, capture_output=True, text=True, env=env)


@pytest.mark.parametrize("where", ["file", "models", "pretrained"])
def test_predict_refuses_a_bomb_before_importing_torch(files: tuple[Path, Path], tmp_path: Path, where: str) -> None:
    _, bomb = files
    model_args = ["--model", str(bomb)] if where == "file" else study_with_bomb(tmp_path, bomb, where)
    named = bomb if where == "file" else f"{where}/tiny/fold1.pt"
    result = predict(tmp_path, model_args, tmp_path)
    assert result.returncode == 1
    assert result.stderr.count("\n") == 1 and "torch was imported" not in result.stderr, result.stderr
    assert result.stderr.startswith(f"error: {named}: its records declare") and "(a zip bomb?)" in result.stderr
    assert int(result.stdout) < 200_000  # kB: ru_maxrss


def test_a_real_model_file_goes_on_to_import_torch(files: tuple[Path, Path], tmp_path: Path) -> None:
    """The control: the poisoned torch is the one `cnnlstm predict` imports once the files pass."""
    good, _ = files
    assert "torch was imported" in predict(tmp_path, ["--model", str(good)], tmp_path).stderr
