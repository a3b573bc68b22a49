"""The IDX format of the MNIST family: a magic number, big-endian dimensions, then uint8 data."""

from __future__ import annotations

import gzip
import struct
import zlib
from pathlib import Path

import numpy as np

from cnnlstm.core.errors import CnnLstmError

UBYTE = 0x08  # the only data type the Fashion-MNIST files use


def read_gz(path: Path) -> bytes:
    """Decompress a .gz file, reporting a truncated or corrupt archive as one line."""
    try:
        with gzip.open(path, "rb") as fh:
            return fh.read()
    except FileNotFoundError:
        raise CnnLstmError(f"{path}: file not found") from None
    except (EOFError, OSError, zlib.error) as exc:
        raise CnnLstmError(f"{path}: truncated or corrupt gzip file ({exc})") from None


def parse_idx(raw: bytes, name: str, ndim: int) -> np.ndarray:
    """Parse IDX bytes holding an unsigned-byte array with `ndim` dimensions."""
    if len(raw) < 4:
        raise CnnLstmError(f"{name}: too short to be an IDX file ({len(raw)} bytes)")
    zero, dtype, dims = struct.unpack(">HBB", raw[:4])
    if zero != 0 or dtype != UBYTE or dims != ndim:
        magic = int.from_bytes(raw[:4], "big")
        expected = (UBYTE << 8) | ndim
        raise CnnLstmError(f"{name}: wrong IDX magic number {magic:#010x}, expected {expected:#010x}")
    header = 4 + 4 * ndim
    if len(raw) < header:
        raise CnnLstmError(f"{name}: IDX header truncated")
    shape = struct.unpack(f">{ndim}I", raw[4:header])
    expected_bytes = int(np.prod(shape))
    if len(raw) - header != expected_bytes:
        raise CnnLstmError(
            f"{name}: IDX dimensions {'x'.join(map(str, shape))} need {expected_bytes} bytes of data, "
            f"file has {len(raw) - header}"
        )
    # A writable copy, like the cached array np.load returns: torch warns on read-only numpy arrays.
    return np.frombuffer(raw, dtype=np.uint8, offset=header).reshape(shape).copy()
