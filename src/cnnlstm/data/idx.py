"""The IDX format of the MNIST family: a magic number, big-endian dimensions, then uint8 data."""

from __future__ import annotations

import itertools
import struct
import zlib
from collections.abc import Iterator
from pathlib import Path

import numpy as np

from cnnlstm.core.errors import CnnLstmError

UBYTE = 0x08  # the only data type the Fashion-MNIST files use
CHUNK = 1 << 20  # compressed bytes read, and decompressed bytes produced, per step
GZIP = 16 + zlib.MAX_WBITS  # zlib parses the gzip header and checks its CRC-32 and length trailer


def gz_chunks(path: Path, limit: int) -> Iterator[bytes]:
    """The decompressed content of a .gz file in chunks of at most CHUNK bytes.

    Stops with a one-line error as soon as more than `limit` bytes come out, so a gzip bomb costs
    `limit` bytes of work, never its inflated size. A truncated or corrupt archive is one line too."""
    total = 0
    try:
        with path.open("rb") as fh:
            inflater, fed, data = zlib.decompressobj(GZIP), False, b""
            while True:
                if not data:
                    data = fh.read(CHUNK)
                    if not data:
                        break
                out = inflater.decompress(data, CHUNK)  # at most CHUNK bytes out per call
                fed = True
                data = inflater.unconsumed_tail
                if inflater.eof:  # a multi-member file: the next member starts after this one
                    data = inflater.unused_data + data
                    inflater, fed = zlib.decompressobj(GZIP), False
                total += len(out)
                if total > limit:
                    raise CnnLstmError(f"{path}: decompresses to more than {limit:,} bytes, more than the file "
                                       "can hold; not a Fashion-MNIST file (a gzip bomb?)")
                if out:
                    yield out
    except FileNotFoundError:
        raise CnnLstmError(f"{path}: file not found") from None
    except zlib.error as exc:
        raise CnnLstmError(f"{path}: truncated or corrupt gzip file ({exc})") from None
    if fed:  # input ended inside a member
        raise CnnLstmError(f"{path}: truncated or corrupt gzip file (ends before the end of its compressed data)")


def _shape(raw: bytes | bytearray, name: str, ndim: int) -> tuple[int, ...]:
    """The dimensions in an IDX header (the first 4 + 4 * ndim bytes of `raw`)."""
    if len(raw) < 4:
        raise CnnLstmError(f"{name}: too short to be an IDX file ({len(raw)} bytes)")
    zero, dtype, dims = struct.unpack(">HBB", raw[:4])
    if zero != 0 or dtype != UBYTE or dims != ndim:
        magic = int.from_bytes(raw[:4], "big")
        expected = (UBYTE << 8) | ndim
        raise CnnLstmError(f"{name}: wrong IDX magic number {magic:#010x}, expected {expected:#010x}")
    if len(raw) < 4 + 4 * ndim:
        raise CnnLstmError(f"{name}: IDX header truncated")
    return struct.unpack(f">{ndim}I", raw[4 : 4 + 4 * ndim])


def _size_error(name: str, shape: tuple[int, ...], has: str) -> CnnLstmError:
    need = int(np.prod(shape))
    return CnnLstmError(f"{name}: IDX dimensions {'x'.join(map(str, shape))} need {need} bytes of data, file has {has}")


def read_idx(path: Path, ndim: int, limit: int) -> np.ndarray:
    """Read a .gz IDX file of at most `limit` bytes, header first: a wrong header is refused after the
    first chunk, data beyond what the header declares as soon as it comes; the array is filled in place
    (memory: the array and one chunk)."""
    header = 4 + 4 * ndim
    chunks = gz_chunks(path, limit)
    head = bytearray()
    for chunk in chunks:
        head += chunk
        if len(head) >= header:
            break
    shape = _shape(head, str(path), ndim)
    need = int(np.prod(shape))
    if header + need > limit:
        raise _size_error(str(path), shape, f"room for at most {limit - header} (the official file's size)")
    data = bytearray(need)
    filled = 0
    for piece in itertools.chain((head[header:],), chunks):
        if filled + len(piece) > need:
            raise _size_error(str(path), shape, "more")  # stops here: the rest is never decompressed
        data[filled : filled + len(piece)] = piece
        filled += len(piece)
    if filled != need:
        raise _size_error(str(path), shape, str(filled))
    return np.frombuffer(data, dtype=np.uint8).reshape(shape)  # writable: a view of a bytearray
