"""Bad model files get one line naming the file, never a traceback, and are checked for size, pickle
content and config bounds before torch allocates anything."""

from __future__ import annotations

import collections
import io
import os
import pickle
import struct
import tracemalloc
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


def rewritten(path: Path, change) -> None:
    """Rewrite the archive, passing each record's bytes through change(name, data) (zipfile fixes the CRCs)."""
    source = zipfile.ZipFile(io.BytesIO(path.read_bytes()))
    with zipfile.ZipFile(path, "w") as out:
        for info in source.infolist():
            out.writestr(info, change(info.filename, source.read(info)))


def weight_record(path: Path) -> str:
    """The largest tensor record (a conv or linear weight)."""
    infos = zipfile.ZipFile(path).infolist()
    return max((i for i in infos if "/data/" in i.filename), key=lambda i: i.file_size).filename


def test_four_bytes_overwritten_in_a_tensor_record_fail_its_crc(model_file):
    record = zipfile.ZipFile(model_file).getinfo(weight_record(model_file))
    data = bytearray(model_file.read_bytes())
    name_len, extra_len = struct.unpack("<HH", data[record.header_offset + 26:record.header_offset + 30])
    start = record.header_offset + 30 + name_len + extra_len  # the local header (torch pads it), then the data
    data[start:start + 4] = b"\xff\xff\xff\x7f"
    model_file.write_bytes(bytes(data))
    assert f"Bad CRC-32 for file '{record.filename}'" in one_line_error(model_file)


def test_tensor_changed_with_a_valid_crc_fails_its_sha256(model_file):
    name = weight_record(model_file)
    rewritten(model_file, lambda n, d: b"\xff\xff\xff\x7f" + d[4:] if n == name else d)
    assert "does not match its sha256 (damaged or altered)" in one_line_error(model_file)


def test_checksums_removed_from_a_current_file_are_refused(model_file):
    payload = torch.load(model_file, weights_only=True)
    del payload["tensor_sha256"]
    buffer = io.BytesIO()
    torch.save(payload, buffer)
    model_file.write_bytes(buffer.getvalue())
    assert "without its tensor checksums" in one_line_error(model_file)


@pytest.mark.parametrize("value", [float("nan"), float("inf")])
def test_non_finite_weights_are_refused(tmp_path, value):
    family, config = parse_config(TINY, "tiny")
    model = build_model(family, config)
    with torch.no_grad():
        next(model.parameters()).view(-1)[3] = value
    save_model(tmp_path / "nan.pt", "tiny", family, config, model)  # valid checksums: only the values are bad
    assert "hold NaN or infinite values" in one_line_error(tmp_path / "nan.pt")


def test_fp16_weights_load_and_keep_their_checksums(model_file):
    """dtype-agnostic: a file re-saved with fp16 weights (as the shipped ones) gets checksums of its own."""
    payload = torch.load(model_file, weights_only=True)
    half = {k: t.half() if t.is_floating_point() else t for k, t in payload["state_dict"].items()}
    checkpoint.save_torch(model_file, {**payload, "state_dict": half})
    model, _ = load_model(model_file)
    assert next(model.parameters()).dtype == torch.float32


class _Storage:
    """Pickled as a reference to record archive/data/0 declaring `numel` fp32 elements."""

    def __init__(self, numel: int) -> None:
        self.numel = numel


class _Tensor:
    def __init__(self, numel: int) -> None:
        self.storage = _Storage(numel)

    def __reduce__(self):
        n = self.storage.numel
        return torch._utils._rebuild_tensor_v2, (self.storage, 0, (n,), (1,), False, collections.OrderedDict())


class _Pickler(pickle.Pickler):
    def persistent_id(self, obj):
        return ("storage", torch.FloatStorage, "0", "cpu", obj.numel) if isinstance(obj, _Storage) else None


def crafted_model(path: Path, model_file: Path, numel: int, record_bytes: int, compress: bool) -> Path:
    """model_file's metadata, its weights replaced by one tensor declaring `numel` fp32 elements whose
    record holds `record_bytes` zeros, deflated (a zip bomb: ~1,000:1) or stored."""
    payload = torch.load(model_file, weights_only=True)
    payload = {k: v for k, v in payload.items() if k != "tensor_sha256"}
    payload["state_dict"] = {"features.0.weight": _Tensor(numel)}
    pickled = io.BytesIO()
    _Pickler(pickled, protocol=2).dump(payload)
    with zipfile.ZipFile(path, "w") as out:
        out.writestr("archive/data.pkl", pickled.getvalue())
        out.writestr("archive/byteorder", "little")
        out.writestr("archive/version", "3\n")
        info = zipfile.ZipInfo("archive/data/0")
        info.compress_type = zipfile.ZIP_DEFLATED if compress else zipfile.ZIP_STORED
        zeros = bytes(1 << 20)
        with out.open(info, "w", force_zip64=True) as record:
            for start in range(0, record_bytes, len(zeros)):
                record.write(zeros[: record_bytes - start])
    return path


def test_zip_bomb_is_refused_before_inflating(model_file, tmp_path, monkeypatch):
    bomb = crafted_model(tmp_path / "bomb.pt", model_file, 64 << 20, 256 << 20, compress=True)
    assert bomb.stat().st_size < 1 << 20
    monkeypatch.setattr(torch, "load", lambda *a, **k: pytest.fail("torch.load ran"))
    tracemalloc.start()
    message = one_line_error(bomb)
    peak = tracemalloc.get_traced_memory()[1]
    tracemalloc.stop()
    assert "record archive/data/0 is compressed" in message and "(a zip bomb?)" in message
    assert peak < 8 << 20


def test_storage_declared_larger_than_its_record_is_refused(model_file, tmp_path):
    crafted = crafted_model(tmp_path / "lie.pt", model_file, 750_000_000, 4, compress=False)
    assert "record archive/data/0 holds 4 bytes but its tensor declares 3,000,000,000" in one_line_error(crafted)


def test_weights_larger_than_the_config_allows_are_refused_before_loading(model_file, tmp_path, monkeypatch):
    crafted = crafted_model(tmp_path / "big.pt", model_file, 1 << 20, 4 << 20, compress=False)
    monkeypatch.setattr(torch, "load", lambda *a, **k: pytest.fail("torch.load ran"))
    assert "its tensors declare 4,194,304 bytes, more than the" in one_line_error(crafted)
