"""Reading a user's image file safely: any Pillow format, bounded size, one-line errors."""

from __future__ import annotations

import warnings
from pathlib import Path
from typing import BinaryIO

import numpy as np
from PIL import Image, ImageOps

from cnnlstm.core.errors import CnnLstmError

DEFAULT_MAX_PIXELS = 50_000_000  # a 50-megapixel photo decodes to ~150 MB of RGB; larger is refused
WORKING_SIDE = 1024  # huge photos are shrunk to this longest side first: the model sees 28 pixels
# EPS is excluded because Pillow hands it to Ghostscript, an external interpreter, to decode.
_UNSAFE_FORMATS = {"EPS"}


def _formats() -> list[str]:
    Image.init()
    return sorted(set(Image.OPEN) - _UNSAFE_FORMATS)


def _to_gray(img: Image.Image) -> Image.Image:
    """Any mode -> 8-bit grayscale ("L"); transparent areas become white, as viewers show them."""
    if img.mode.startswith("I;16") or img.mode == "I":
        # 16-bit data: Pillow's convert("L") clips instead of scaling, so scale 0..65535 -> 0..255.
        pixels = np.asarray(img, dtype=np.float64)
        return Image.fromarray(np.clip(np.rint(pixels / 257), 0, 255).astype(np.uint8))
    if img.has_transparency_data:
        rgba = img.convert("RGBA")
        img = Image.alpha_composite(Image.new("RGBA", rgba.size, "white"), rgba)
    return img.convert("L")


def read_image(path: str | Path, max_pixels: int = DEFAULT_MAX_PIXELS) -> np.ndarray:
    """Decode the first frame of an image file -> (H, W) uint8 grayscale, upright per its EXIF.

    The pixel count is checked from the header, before anything is decoded, so a small file that
    claims a huge image (a decompression bomb) costs nothing.
    """
    path = Path(path)
    if path.is_dir():
        raise CnnLstmError(f"{path}: is a directory, not an image file")
    if not path.exists():
        raise CnnLstmError(f"{path}: no such file")
    if not path.is_file():
        raise CnnLstmError(f"{path}: not a regular file")
    if path.stat().st_size == 0:
        raise CnnLstmError(f"{path}: empty file")
    try:
        with path.open("rb") as fh:
            gray = _decode(fh, path, max_pixels)
    except OSError as exc:  # opening the file itself failed, e.g. no permission
        raise CnnLstmError(f"{path}: cannot read ({exc.strerror or exc})") from None
    if max(gray.size) > WORKING_SIDE:
        gray.thumbnail((WORKING_SIDE, WORKING_SIDE), Image.Resampling.LANCZOS)
    return np.array(gray, dtype=np.uint8)


def _decode(fh: BinaryIO, path: Path, max_pixels: int) -> Image.Image:
    """The open file -> grayscale image; every decoding problem becomes one line naming `path`."""
    try:
        # Our own limit below is the one that applies; Pillow's warning would only add noise.
        with warnings.catch_warnings():
            warnings.simplefilter("ignore", Image.DecompressionBombWarning)
            with Image.open(fh, formats=_formats()) as img:
                width, height = img.size
                if width * height > max_pixels:
                    raise CnnLstmError(
                        f"{path}: image of {width}x{height} pixels is over the limit of {max_pixels} "
                        "(--max-pixels)"
                    )
                img.draft("L", (WORKING_SIDE, WORKING_SIDE))  # JPEG: decode at a reduced scale
                return _to_gray(ImageOps.exif_transpose(img))
    except Image.UnidentifiedImageError:
        raise CnnLstmError(f"{path}: not an image file of a supported format") from None
    except Image.DecompressionBombError as exc:
        raise CnnLstmError(f"{path}: image is over Pillow's size limit ({exc})") from None
    except CnnLstmError:
        raise
    except Exception as exc:  # Pillow's decoders raise assorted types on corrupt data (OSError, SyntaxError, ...)
        reason = str(exc).splitlines()[0] if str(exc) else type(exc).__name__
        raise CnnLstmError(f"{path}: cannot decode image, truncated or corrupt ({reason})") from None
