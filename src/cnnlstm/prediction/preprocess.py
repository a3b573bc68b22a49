"""Any grayscale picture -> a Fashion-MNIST style 28x28 image.

Fashion-MNIST (Xiao et al. 2017) was made from product photos on light backgrounds: trim the
background border, resize the longest edge to 28, sharpen, centre on a 28x28 canvas, negate, 8-bit
grayscale. This does the same to a user's picture; a picture that is already a 28x28 image on a
dark background is the dataset's own kind and passes through unchanged, bit for bit.
"""

from __future__ import annotations

import numpy as np
from PIL import Image, ImageFilter

SIDE = 28
INVERT_CHOICES = ("auto", "yes", "no")
TRIM_LEVEL = 25  # pixels this far (~10%) above the background count as the object, not JPEG noise
# The dataset's authors subsampled and then sharpened (Gaussian radius 1). Subsampling aliases
# photo textures unpredictably, so we reduce with Lanczos and sharpen mildly for the crisp edges.
SHARPEN = ImageFilter.UnsharpMask(radius=1, percent=50, threshold=0)


def border_level(gray: np.ndarray) -> float:
    """Median of the outermost ring of pixels: the background level, robust to an object touching an edge."""
    ring = np.concatenate([gray[0], gray[-1], gray[1:-1, 0], gray[1:-1, -1]])
    return float(np.median(ring))


def needs_inversion(gray: np.ndarray, invert: str) -> bool:
    """auto: invert a light background (border brighter than mid-grey), as the dataset's authors did."""
    if invert == "auto":
        return border_level(gray) > 127.5
    return invert == "yes"


def _object_box(mask: np.ndarray) -> tuple[slice, slice]:
    """Bounding box of the True pixels; the whole image when there are none (a blank picture)."""
    rows, cols = np.flatnonzero(mask.any(axis=1)), np.flatnonzero(mask.any(axis=0))
    if rows.size == 0:
        return slice(None), slice(None)
    return slice(rows[0], rows[-1] + 1), slice(cols[0], cols[-1] + 1)


def to_fashion_mnist(gray: np.ndarray, invert: str = "auto") -> np.ndarray:
    """(H, W) uint8 grayscale -> (28, 28) uint8, object bright on black, centred, longest side 28."""
    if needs_inversion(gray, invert):
        gray = 255 - gray
    if gray.shape == (SIDE, SIDE):
        return gray  # already the dataset's size: resampling could only blur it
    pixels = gray.astype(np.float32)
    background = border_level(pixels)
    # Stretch so the background is exactly black, as in the dataset, while white stays white.
    pixels = np.clip((pixels - background) * (255 / max(255 - background, 1)), 0, 255)
    rows, cols = _object_box(pixels > TRIM_LEVEL)
    pixels = pixels[rows, cols]  # (h, w) crop around the object
    h, w = pixels.shape
    scale = SIDE / max(h, w)
    size = (max(1, round(w * scale)), max(1, round(h * scale)))  # PIL sizes are (width, height)
    small = Image.fromarray(pixels).resize(size, Image.Resampling.LANCZOS)
    small = Image.fromarray(np.clip(np.rint(np.asarray(small)), 0, 255).astype(np.uint8))
    small = small.filter(SHARPEN)
    canvas = np.zeros((SIDE, SIDE), dtype=np.uint8)
    top, left = (SIDE - size[1]) // 2, (SIDE - size[0]) // 2
    canvas[top : top + size[1], left : left + size[0]] = np.asarray(small)
    return canvas
