"""A first look at a model file before torch is imported (torch alone is ~640 MB resident): a zip
bomb is refused within a plain Python process's memory. Only the archive's central directory is
read; nothing is decompressed. models/checkpoint.py checks every record again, with torch, after.
"""

from __future__ import annotations

import zipfile
from pathlib import Path

from cnnlstm.core.errors import CnnLstmError


def _size(n: int) -> str:
    for unit, scale in (("GB", 1e9), ("MB", 1e6), ("kB", 1e3)):
        if n >= scale:
            return f"{n / scale:.1f} {unit}"
    return f"{n} bytes"


def check_archive(path: Path) -> None:
    """Refuse a zip archive whose records declare more uncompressed bytes than the file holds:
    torch.save stores every record uncompressed, so its records always add up to less than the file.
    A file that is missing or not a zip archive passes: the loader's own check says what it is."""
    try:
        size = path.stat().st_size
        with zipfile.ZipFile(path) as archive:
            records = archive.infolist()
    except (OSError, EOFError, zipfile.BadZipFile):
        return
    declared = sum(record.file_size for record in records)
    if declared > size:
        largest = max(records, key=lambda record: record.file_size)
        raise CnnLstmError(
            f"{path}: its records declare {_size(declared)} uncompressed in a {_size(size)} file ({largest.filename} "
            f"{_size(largest.file_size)}); torch.save never compresses, so refused before loading (a zip bomb?)")
