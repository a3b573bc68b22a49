"""Model files: weights and plain metadata only, loaded with weights_only=True (no code runs)."""

from __future__ import annotations

import dataclasses
import pickle
import pickletools
import zipfile
from pathlib import Path
from typing import Any

import torch
from torch import nn

from cnnlstm.core.atomic import atomic_path
from cnnlstm.core.errors import CnnLstmError
from cnnlstm.core.model_configs import parse_config
from cnnlstm.models.registry import build_model

FORMAT = "cnnlstm-model/1"
# The largest model the config bounds allow (core/model_configs.py) holds 0.43 GiB of weights; a
# checkpoint holds four copies (model, best epoch, two AdamW moments). Anything larger is not ours.
MAX_FILE_BYTES = 2 << 30
MAX_PICKLE_BYTES = 64 << 20  # data.pkl holds metadata and tensor references; tensors are separate records
REFUSED = "not a weights-only file; refused because loading it could run code"
# The only globals torch.save writes for our payloads (dicts of tensors and plain data).
SAFE_GLOBALS = {("collections", "OrderedDict"), ("torch._utils", "_rebuild_tensor_v2")}
# Opcodes that import or construct arbitrary objects; torch.save (pickle protocol 2) never writes them.
CODE_OPCODES = {"STACK_GLOBAL", "INST", "OBJ", "NEWOBJ", "NEWOBJ_EX", "EXT1", "EXT2", "EXT4"}


def save_torch(path: str | Path, payload: dict[str, Any]) -> None:
    """Save through an open file: given a path, torch names the archive after the (random)
    temporary file, so identical weights would get different bytes and DVC would rerun downstream."""
    with atomic_path(path) as tmp, tmp.open("wb") as fh:
        torch.save(payload, fh)


def _code_risk(pickled: bytes) -> str | None:
    """The first pickle instruction that could import or run code outside torch's tensor rebuilding.

    With every GLOBAL allow-listed and the other importing opcodes refused, REDUCE and BUILD can
    only call the allow-listed rebuilders. Scans every stream: legacy files concatenate several."""
    start = 0
    try:
        while start < len(pickled):
            for opcode, arg, pos in pickletools.genops(pickled[start:]):
                if opcode.name in CODE_OPCODES:
                    return f"opcode {opcode.name}"
                if opcode.name == "GLOBAL":
                    module, _, name = str(arg).partition(" ")
                    storage = module == "torch" and name.endswith("Storage")  # torch.FloatStorage etc.
                    if (module, name) not in SAFE_GLOBALS and not storage:
                        return f"global {module}.{name}"
                if opcode.name == "STOP":
                    start += pos + 1
    except ValueError:  # garbage after the instructions read so far: torch.load reports it
        pass
    return None


def _refuse_code(path: Path) -> None:
    """Refuse files whose pickle could run code, whatever torch.load would make of them.

    torch's weights-only unpickler refuses them too, but reports most as "corrupt pickle data"."""
    if not zipfile.is_zipfile(path):  # torch's legacy format: bare pickle streams; we never write it
        with path.open("rb") as fh:
            risk = _code_risk(fh.read(MAX_PICKLE_BYTES))
        if risk:
            raise CnnLstmError(f"{path}: {REFUSED} ({risk} in its pickle)")
        raise CnnLstmError(f"{path}: not a loadable weights file (truncated, or not a torch zip archive)")
    try:
        with zipfile.ZipFile(path) as archive:
            pickles = [info for info in archive.infolist() if info.filename.endswith("data.pkl")]
            if len(pickles) != 1 or pickles[0].file_size > MAX_PICKLE_BYTES:
                raise CnnLstmError(f"{path}: not a loadable weights file (no single data.pkl of sane size)")
            pickled = archive.read(pickles[0])
    except (zipfile.BadZipFile, OSError, EOFError, ValueError) as exc:  # truncated or damaged records
        raise CnnLstmError(f"{path}: not a loadable weights file ({exc})") from None
    risk = _code_risk(pickled)
    if risk:
        raise CnnLstmError(f"{path}: {REFUSED} ({risk} in data.pkl)")


def load_torch(path: str | Path) -> dict[str, Any]:
    """Load a torch file safely; a missing, empty, truncated, oversized or code-carrying file is a
    one-line error. Size and pickle are checked before torch allocates anything."""
    path = Path(path)
    if not path.is_file():
        raise CnnLstmError(f"{path}: model file not found")
    size = path.stat().st_size
    if size == 0:
        raise CnnLstmError(f"{path}: empty file (0 bytes), not a weights file")
    if size > MAX_FILE_BYTES:
        raise CnnLstmError(f"{path}: {size:,} bytes, over the {MAX_FILE_BYTES:,}-byte limit for model files")
    _refuse_code(path)
    try:
        payload = torch.load(path, map_location="cpu", weights_only=True)
    except pickle.UnpicklingError as exc:
        if "Unsupported global" not in str(exc):  # garbage, not a file that holds objects
            raise CnnLstmError(f"{path}: not a loadable weights file (corrupt pickle data)") from None
        raise CnnLstmError(f"{path}: {REFUSED} ({str(exc).splitlines()[0]})") from None
    except Exception as exc:  # damaged archives raise assorted types (RuntimeError, OSError, EOFError, ...)
        raise CnnLstmError(f"{path}: not a loadable weights file ({str(exc).splitlines()[0]})") from None
    if not isinstance(payload, dict):
        raise CnnLstmError(f"{path}: not a cnnlstm file")
    return payload


def save_model(path: str | Path, name: str, family: str, config: Any, model: nn.Module, **meta: Any) -> None:
    """Floating-point weights are stored as fp16 (issue 22: half the bytes of the study's DVC store
    in git); load_model's load_state_dict copies them back into the fp32 model."""
    state = {key: t.half() if t.is_floating_point() else t for key, t in model.state_dict().items()}
    save_torch(path, {
        "format": FORMAT,
        "model": name,
        "family": family,
        "config": dataclasses.asdict(config),
        "state_dict": state,
        "weights": "fp16",
        **meta,
    })


def load_model(path: str | Path) -> tuple[nn.Module, dict[str, Any]]:
    """Rebuild the model a file was saved from; return it (eval mode) and the file's metadata."""
    payload = load_torch(path)
    if "format" not in payload:
        raise CnnLstmError(f"{path}: not a cnnlstm model file (no 'format' field; a bare state_dict?)")
    if payload["format"] != FORMAT:
        raise CnnLstmError(f"{path}: format {payload['format']!r}, expected {FORMAT!r}")
    if not isinstance(payload.get("config"), dict) or not isinstance(payload.get("state_dict"), dict):
        raise CnnLstmError(f"{path}: model file lacks its config or weights")
    family, config = parse_config({"family": payload.get("family"), **payload["config"]}, f"{path}: config")
    model = build_model(family, config)
    try:
        model.load_state_dict(payload["state_dict"])
    except RuntimeError as exc:
        detail = [line.strip() for line in str(exc).splitlines() if line.strip()][1:2] or [str(exc)]
        raise CnnLstmError(f"{path}: weights do not fit the {family} architecture ({detail[0]})") from None
    meta = {k: v for k, v in payload.items() if k != "state_dict"}
    return model.eval(), meta
