"""The IDX format of the MNIST family: a magic number, big-endian dimensions, then uint8 data."""

from __future__ import annotations

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


def read_gz(path: Path, limit: int) -> bytearray:
    """Decompress a .gz file of at most `limit` bytes (gz_chunks says what is refused)."""
    content = bytearray()
    for chunk in gz_chunks(path, limit):
        content += chunk
    return content


def parse_idx(raw: bytes | bytearray, name: str, ndim: int) -> np.ndarray:
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
    # Writable, like the cached array np.load returns (torch warns on read-only numpy arrays): a view of
    # a bytearray already is; bytes are copied.
    array = np.frombuffer(raw, dtype=np.uint8, offset=header).reshape(shape)
    return array if array.flags.writeable else array.copy()
