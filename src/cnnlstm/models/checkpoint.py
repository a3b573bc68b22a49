"""Model files: weights and plain metadata only, loaded with weights_only=True (no code runs)."""

from __future__ import annotations

import collections
import dataclasses
import hashlib
import io
import pickle
import pickletools
import zipfile
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any, NamedTuple

import torch
from torch import nn

from cnnlstm.core.atomic import atomic_path
from cnnlstm.core.errors import CnnLstmError
from cnnlstm.core.model_configs import parse_config
from cnnlstm.models.registry import build_model

FORMAT = "cnnlstm-model/2"  # /2 adds "tensor_sha256"
# /1 files (before tensor checksums) still load: the shipped ones are checked by their manifest's sha256,
# and every file's records by their zip CRC-32.
FORMATS = ("cnnlstm-model/1", FORMAT)
CHECKSUMS = "tensor_sha256"  # every tensor's sha256, by its path in the payload ("state_dict.fc.weight")
# Bytes per element of each storage type torch writes ("torch FloatStorage" ...).
STORAGE_ITEMSIZE = {"Double": 8, "Float": 4, "Half": 2, "BFloat16": 2, "Long": 8, "Int": 4, "Short": 2,
                    "Char": 1, "Byte": 1, "Bool": 1}
# The largest model the config bounds allow (core/model_configs.py) holds 0.43 GiB of weights; a
# checkpoint holds four copies (model, best epoch, two AdamW moments). Anything larger is not ours.
MAX_FILE_BYTES = 2 << 30
MAX_PICKLE_BYTES = 64 << 20  # data.pkl holds metadata and tensor references; tensors are separate records
REFUSED = "not a weights-only file; refused because loading it could run code"
# The only globals torch.save writes for our payloads (dicts of tensors and plain data).
SAFE_GLOBALS = {("collections", "OrderedDict"), ("torch._utils", "_rebuild_tensor_v2")}
# Opcodes that import or construct arbitrary objects; torch.save (pickle protocol 2) never writes them.
CODE_OPCODES = {"STACK_GLOBAL", "INST", "OBJ", "NEWOBJ", "NEWOBJ_EX", "EXT1", "EXT2", "EXT4"}


def tensors(payload: Any, prefix: str = "") -> Iterator[tuple[str, torch.Tensor]]:
    """Every tensor in a payload of dicts, lists and tuples, with its dotted path."""
    if isinstance(payload, torch.Tensor):
        yield prefix, payload
    elif isinstance(payload, dict):
        for key, value in payload.items():
            yield from tensors(value, f"{prefix}.{key}" if prefix else str(key))
    elif isinstance(payload, (list, tuple)):
        for i, value in enumerate(payload):
            yield from tensors(value, f"{prefix}.{i}" if prefix else str(i))


def tensor_sha256(tensor: torch.Tensor) -> str:
    """sha256 of a tensor's bytes, whatever its dtype (fp32, fp16, bf16, integers, bool)."""
    flat = tensor.detach().cpu().contiguous().reshape(-1)
    return hashlib.sha256(flat.view(torch.uint8).numpy().tobytes() if flat.numel() else b"").hexdigest()


def save_torch(path: str | Path, payload: dict[str, Any]) -> None:
    """Save with a checksum of every tensor (CHECKSUMS), computed afresh: a payload copied from another
    file and changed (fp16 weights) gets its own. Serialised in memory first, then written through an
    open file: a full disk is then an OSError naming the file (atomic_path), not torch's "unexpected
    pos" RuntimeError; and given a path, torch names the archive after the (random) temporary file, so
    identical weights would get different bytes and DVC would rerun downstream."""
    payload = {k: v for k, v in payload.items() if k != CHECKSUMS}
    payload[CHECKSUMS] = {key: tensor_sha256(t) for key, t in tensors(payload)}
    buffer = io.BytesIO()
    torch.save(payload, buffer)
    with atomic_path(path) as tmp, tmp.open("wb") as fh:
        fh.write(buffer.getbuffer())


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


class _Storage(NamedTuple):
    key: str  # its record: archive/data/<key>
    nbytes: int


class _Declared(pickle.Unpickler):
    """Reads data.pkl without touching any tensor data: storages become their declared sizes and
    tensors stubs, so sizes can be checked before torch allocates anything. Only runs after
    _refuse_code, so the only globals are the allow-listed ones."""

    def __init__(self, data: bytes, path: Path) -> None:
        super().__init__(io.BytesIO(data))
        self.path = path
        self.storages: dict[str, _Storage] = {}

    def find_class(self, module: str, name: str) -> Any:
        if (module, name) == ("collections", "OrderedDict"):
            return collections.OrderedDict
        if (module, name) == ("torch._utils", "_rebuild_tensor_v2"):
            return lambda storage, *args: storage  # the tensor stands for its storage
        kind = name.removesuffix("Storage")
        if module == "torch" and kind in STORAGE_ITEMSIZE:
            return kind
        raise CnnLstmError(f"{self.path}: {REFUSED} (global {module}.{name} in data.pkl)")

    def persistent_load(self, pid: Any) -> _Storage:
        tag, kind, key, _location, numel = pid if isinstance(pid, tuple) and len(pid) == 5 else (None,) * 5
        if tag != "storage" or kind not in STORAGE_ITEMSIZE or not isinstance(numel, int) or numel < 0:
            raise CnnLstmError(f"{self.path}: not a loadable weights file (unknown storage {pid!r})")
        storage = _Storage(str(key), numel * STORAGE_ITEMSIZE[kind])
        self.storages[storage.key] = storage
        return storage


def _stored_records(path: Path, archive: zipfile.ZipFile) -> dict[str, int]:
    """Record name -> size, after checking every record is stored uncompressed (as torch writes them,
    so no record holds more than the file's own bytes: no zip bomb) and matches its CRC-32 (read in
    chunks: a damaged tensor record is caught here, torch checks none)."""
    sizes = {}
    for info in archive.infolist():
        if info.compress_type != zipfile.ZIP_STORED or info.file_size != info.compress_size:
            raise CnnLstmError(f"{path}: record {info.filename} is compressed ({info.compress_size:,} bytes "
                               f"declaring {info.file_size:,}); torch never writes that (a zip bomb?)")
        with archive.open(info) as record:
            while record.read(1 << 20):  # zipfile raises BadZipFile at the end on a CRC mismatch
                pass
        sizes[info.filename] = info.file_size
    return sizes


def _declared_payload(path: Path) -> tuple[Any, dict[str, _Storage]]:
    """data.pkl with storage stubs, and the storages it declares (each matching its record's size)."""
    try:
        with zipfile.ZipFile(path) as archive:
            sizes = _stored_records(path, archive)
            (pkl,) = [name for name in sizes if name.endswith("data.pkl")]
            unpickler = _Declared(archive.read(pkl), path)
    except (zipfile.BadZipFile, OSError, EOFError, ValueError) as exc:  # truncated or damaged records
        raise CnnLstmError(f"{path}: not a loadable weights file ({str(exc).splitlines()[0]})") from None
    try:
        payload = unpickler.load()
    except CnnLstmError:
        raise
    except Exception as exc:  # a damaged pickle raises assorted types
        detail = (str(exc).splitlines() or [type(exc).__name__])[0]
        raise CnnLstmError(f"{path}: not a loadable weights file (corrupt pickle data: {detail})") from None
    prefix = pkl.removesuffix("data.pkl")
    for storage in unpickler.storages.values():
        record = f"{prefix}data/{storage.key}"
        if sizes.get(record) != storage.nbytes:
            raise CnnLstmError(f"{path}: record {record} holds {sizes.get(record, 0):,} bytes but its tensor "
                               f"declares {storage.nbytes:,}; damaged or crafted")
    return payload, unpickler.storages


def load_torch(path: str | Path, bound: Callable[[Any], int] | None = None) -> dict[str, Any]:
    """Load a torch file safely; a missing, empty, truncated, oversized, damaged or code-carrying file is a
    one-line error. Size, pickle and every record's CRC-32 and declared size are checked before torch
    allocates anything; with `bound` (the payload, tensors as stubs -> the most bytes they may take), so
    is the tensors' total. Every tensor's sha256 is checked after (CHECKSUMS; /1 files have none)."""
    path = Path(path)
    if not path.is_file():
        raise CnnLstmError(f"{path}: model file not found")
    size = path.stat().st_size
    if size == 0:
        raise CnnLstmError(f"{path}: empty file (0 bytes), not a weights file")
    if size > MAX_FILE_BYTES:
        raise CnnLstmError(f"{path}: {size:,} bytes, over the {MAX_FILE_BYTES:,}-byte limit for model files")
    _refuse_code(path)
    stubs, storages = _declared_payload(path)
    declared = sum(s.nbytes for s in storages.values())
    max_bytes = bound(stubs) if bound is not None else MAX_FILE_BYTES
    if declared > max_bytes:
        raise CnnLstmError(f"{path}: its tensors declare {declared:,} bytes, more than the {max_bytes:,} its "
                           "config's parameters can take; refused before loading")
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
    _check_sums(path, payload)
    return payload


def _check_sums(path: Path, payload: dict[str, Any]) -> None:
    """Every tensor must match the sha256 saved with it (CHECKSUMS)."""
    recorded = payload.pop(CHECKSUMS, None)
    if recorded is None:
        if payload.get("format") == FORMAT:
            raise CnnLstmError(f"{path}: format {FORMAT} without its tensor checksums; damaged or crafted")
        return
    found = dict(tensors(payload))
    if not isinstance(recorded, dict) or set(recorded) != set(found):
        raise CnnLstmError(f"{path}: its tensor checksums do not list its tensors; damaged or crafted")
    for key, tensor in found.items():
        if tensor_sha256(tensor) != recorded[key]:
            raise CnnLstmError(f"{path}: tensor {key} does not match its sha256 (damaged or altered)")


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


def _model_config(path: Path, payload: Any) -> tuple[str, Any]:
    """A model file's family and validated config, from its payload (stubs or loaded)."""
    if not isinstance(payload, dict):
        raise CnnLstmError(f"{path}: not a cnnlstm file")
    if "format" not in payload:
        raise CnnLstmError(f"{path}: not a cnnlstm model file (no 'format' field; a bare state_dict?)")
    if payload["format"] not in FORMATS:
        raise CnnLstmError(f"{path}: format {payload['format']!r}, expected {FORMAT!r}")
    if not isinstance(payload.get("config"), dict) or not isinstance(payload.get("state_dict"), dict):
        raise CnnLstmError(f"{path}: model file lacks its config or weights")
    return parse_config({"family": payload.get("family"), **payload["config"]}, f"{path}: config")


def _weight_bytes(family: str, config: Any) -> int:
    """The most bytes the weights of this config can take (8 per element), counted on torch's meta
    device: nothing allocated."""
    with torch.device("meta"):
        model = build_model(family, config)
    return 8 * sum(t.numel() for t in model.state_dict().values())


def load_model(path: str | Path) -> tuple[nn.Module, dict[str, Any]]:
    """Rebuild the model a file was saved from; return it (eval mode) and the file's metadata.
    Its config is read and bounded before any tensor is loaded; its weights must be finite."""
    path = Path(path)
    payload = load_torch(path, lambda declared: _weight_bytes(*_model_config(path, declared)))
    family, config = _model_config(path, payload)
    model = build_model(family, config)
    try:
        model.load_state_dict(payload["state_dict"])
    except RuntimeError as exc:
        detail = [line.strip() for line in str(exc).splitlines() if line.strip()][1:2] or [str(exc)]
        raise CnnLstmError(f"{path}: weights do not fit the {family} architecture ({detail[0]})") from None
    for key, tensor in payload["state_dict"].items():
        if tensor.is_floating_point() and not torch.isfinite(tensor).all():
            raise CnnLstmError(f"{path}: weights {key} hold NaN or infinite values; not a usable model")
    meta = {k: v for k, v in payload.items() if k != "state_dict"}
    return model.eval(), meta
