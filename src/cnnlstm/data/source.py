"""Where the four official Fashion-MNIST files come from, and proof that they are the right ones."""

from __future__ import annotations

import hashlib
import os
import shutil
import urllib.error
import urllib.request
from pathlib import Path

from cnnlstm.core.atomic import atomic_dir
from cnnlstm.data.idx import gz_chunks
from cnnlstm.core.errors import CnnLstmError

# SHA-256 of the *decompressed* files: Debian recompressed the .gz files, so only content is stable.
SHA256 = {
    "train-images-idx3-ubyte": "c59f468a2f672dc815687fe0f83887768d799fd8a3f3276145d20f83aa44d888",
    "train-labels-idx1-ubyte": "bad3541b69d912435c50bb6ba87bec294ff4f6a2e1246121d8633921760443d9",
    "t10k-images-idx3-ubyte": "5b4141f0afbad91edebe8549f8fcffe087ea10ca49f1dbef5c9a5cd8815ce37b",
    "t10k-labels-idx1-ubyte": "0402a96d92fd2663957122ceb108a494c5af83dab82d92729df917d7dec38c34",
}
# Their decompressed sizes: reading stops once a file passes its size (a gzip bomb costs no more).
SIZES = {
    "train-images-idx3-ubyte": 16 + 60_000 * 28 * 28,
    "train-labels-idx1-ubyte": 8 + 60_000,
    "t10k-images-idx3-ubyte": 16 + 10_000 * 28 * 28,
    "t10k-labels-idx1-ubyte": 8 + 10_000,
}
FILES = tuple(f"{name}.gz" for name in SHA256)
ENV_VAR = "FASHION_MNIST_DIR"
DEBIAN_DIR = Path("/usr/share/datasets/fashion-mnist")
MIRROR = "https://raw.githubusercontent.com/zalandoresearch/fashion-mnist/master/data/fashion/"
TIMEOUT_S = 30
MAX_DOWNLOAD_BYTES = 64 << 20  # the largest official .gz file is 26 MB


def verify_file(path: Path) -> None:
    """Check the decompressed content of one official file against its SHA-256, streamed: memory stays
    at one chunk, and decompression stops once the content passes the official size."""
    name = path.name.removesuffix(".gz")
    sha = hashlib.sha256()
    for chunk in gz_chunks(path, SIZES[name]):
        sha.update(chunk)
    digest, expected = sha.hexdigest(), SHA256[name]
    if digest != expected:
        raise CnnLstmError(f"{path}: SHA-256 of the decompressed content is {digest}, expected {expected}")


def find_source(configured: str | None) -> Path | None:
    """The first local folder to copy from, in the documented order; None means download.

    A folder named explicitly (params or environment) must exist: silently falling back to
    another copy would hide the user's mistake.
    """
    for origin, value in (("params.yaml data.source", configured), (f"${ENV_VAR}", os.environ.get(ENV_VAR))):
        if value:
            folder = Path(value)
            if not folder.is_dir():
                raise CnnLstmError(f"{folder}: source folder from {origin} does not exist")
            return folder
    return DEBIAN_DIR if DEBIAN_DIR.is_dir() else None


def _download(url: str, dest: Path) -> None:
    try:
        with urllib.request.urlopen(url, timeout=TIMEOUT_S) as response:
            payload = response.read(MAX_DOWNLOAD_BYTES + 1)
    except (urllib.error.URLError, TimeoutError, OSError) as exc:
        raise CnnLstmError(
            f"{url}: download failed ({exc}); offline? install Debian's dataset-fashion-mnist "
            f"or set data.source / ${ENV_VAR} to a folder with the four .gz files"
        ) from None
    if len(payload) > MAX_DOWNLOAD_BYTES:
        raise CnnLstmError(f"{url}: more than {MAX_DOWNLOAD_BYTES:,} bytes; not a Fashion-MNIST file")
    dest.write_bytes(payload)  # outside the try: a full disk is not "offline" (atomic_dir names the folder)


def fetch_raw(configured: str | None, dest: str | Path) -> Path | str:
    """Fill `dest` with the four verified .gz files; return where they came from.

    `dest` is replaced only once every file has been copied and verified.
    """
    source = find_source(configured)
    with atomic_dir(dest) as tmp:
        for name in FILES:
            target = tmp / name
            if source is None:
                _download(MIRROR + name, target)
            else:
                if not (source / name).is_file():
                    raise CnnLstmError(f"{source / name}: file not found in the source folder")
                shutil.copyfile(source / name, target)
            try:
                verify_file(target)
            except CnnLstmError as exc:
                origin = source / name if source else MIRROR + name
                raise CnnLstmError(str(exc).replace(str(target), str(origin))) from None
    return source if source else MIRROR
