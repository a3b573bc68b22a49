"""Bad model files get one line naming the file, never a traceback, and are checked for size, pickle
content and config bounds before torch allocates anything."""

from __future__ import annotations

import io
import os
import pickle
import subprocess
import sys
import zipfile
from pathlib import Path

import pytest
import torch

import cnnlstm.models.checkpoint as checkpoint
from cnnlstm.core.errors import CnnLstmError
from cnnlstm.core.model_configs import parse_config
from cnnlstm.models.checkpoint import load_model, save_model
from cnnlstm.models.registry import build_model

TINY = {"family": "cnn", "channels": [4, 8], "hidden": 16, "dropout": 0.0}
REFUSED = "refused because loading it could run code"
CNNLSTM = str(Path(sys.executable).parent / "cnnlstm")  # the console script, as a user runs it


@pytest.fixture
def model_file(tmp_path: Path) -> Path:
    family, config = parse_config(TINY, "tiny")
    save_model(tmp_path / "good.pt", "tiny", family, config, build_model(family, config))
    return tmp_path / "good.pt"


def one_line_error(path: Path) -> str:
    with pytest.raises(CnnLstmError) as error:
        load_model(path)
    message = str(error.value)
    assert "\n" not in message and message.startswith(str(path))
    return message


def test_zero_byte_file(tmp_path):
    (tmp_path / "empty.pt").touch()
    assert "empty file (0 bytes)" in one_line_error(tmp_path / "empty.pt")


@pytest.mark.parametrize("percent", [1, 2, 5, 10, 50, 99])
def test_truncated_file(model_file, percent):
    data = model_file.read_bytes()
    model_file.write_bytes(data[: len(data) * percent // 100])
    assert "not a loadable weights file" in one_line_error(model_file)


def test_oversized_file_is_refused_before_reading(model_file, monkeypatch):
    monkeypatch.setattr(checkpoint, "MAX_FILE_BYTES", 1000)
    monkeypatch.setattr(torch, "load", lambda *a, **k: pytest.fail("torch.load ran"))
    assert "over the 1,000-byte limit" in one_line_error(model_file)


def test_config_beyond_the_bounds_is_refused_before_building(model_file, monkeypatch):
    payload = torch.load(model_file, weights_only=True)
    payload["config"]["channels"] = [60000, 60000]  # would allocate ~130 GB
    checkpoint.save_torch(model_file, payload)
    monkeypatch.setattr(checkpoint, "build_model", lambda *a: pytest.fail("the model was built"))
    assert "config.channels: must be > 0 and at most 512, got [60000, 60000]" in one_line_error(model_file)


class Planted:
    """Unpickling it creates `marker`: proof that code ran."""

    def __init__(self, marker: Path) -> None:
        self.marker = marker

    def __reduce__(self):
        return (Path.touch, (self.marker,))


def crafted_pickles(marker: Path) -> dict[str, bytes]:
    """Code-running pickles, one per opcode that can import or call."""
    quoted = repr(str(marker)).encode()
    return {
        "GLOBAL+REDUCE": pickle.dumps(Planted(marker), protocol=2),
        "STACK_GLOBAL": pickle.dumps(Planted(marker), protocol=4),
        "INST": b"(S" + quoted + b"\nipathlib\nPath\n.",
        "OBJ": b"(cpathlib\nPath\nS" + quoted + b"\no.",
        "NEWOBJ": b"\x80\x02ccollections\nOrderedDict\n)\x81.",
    }


@pytest.mark.parametrize("kind", ["GLOBAL+REDUCE", "STACK_GLOBAL", "INST", "OBJ", "NEWOBJ"])
def test_code_running_pickle_inside_the_archive_is_refused(model_file, tmp_path, kind):
    marker = tmp_path / "code-ran"
    source = zipfile.ZipFile(io.BytesIO(model_file.read_bytes()))
    with zipfile.ZipFile(model_file, "w") as planted:
        for info in source.infolist():
            data = source.read(info)
            planted.writestr(info, crafted_pickles(marker)[kind] if info.filename.endswith("data.pkl") else data)
    assert REFUSED in one_line_error(model_file)
    assert not marker.exists()


def test_legacy_non_zip_pickle_is_refused(tmp_path):
    marker, path = tmp_path / "code-ran", tmp_path / "legacy.pt"
    # the code in a second stream: torch's legacy format concatenates several
    path.write_bytes(pickle.dumps(1000) + pickle.dumps(Planted(marker), protocol=2))
    assert REFUSED in one_line_error(path)
    assert not marker.exists()


@pytest.mark.parametrize("damage", ["empty", "truncated"])
def test_predict_command_reports_a_damaged_model_in_one_line(model_file, tmp_path, damage):
    data = model_file.read_bytes()
    model_file.write_bytes(b"" if damage == "empty" else data[: len(data) // 20])
    image = tmp_path / "image.png"
    image.write_bytes(b"not read: the model is loaded first")
    result = subprocess.run([CNNLSTM, "predict", "--model", str(model_file), str(image)],
                            capture_output=True, text=True, env={**os.environ, "CI": "true"})
    assert result.returncode == 1
    assert result.stderr.strip().splitlines() == [result.stderr.strip()], result.stderr
    assert result.stderr.startswith(f"error: {model_file}: ")
