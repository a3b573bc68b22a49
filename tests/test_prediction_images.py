"""Reading user images safely and making them look like Fashion-MNIST images."""

from __future__ import annotations

import io
import struct
import zlib
from pathlib import Path

import numpy as np
import pytest
from PIL import Image

from cnnlstm.data.fashion_mnist import load_split
from cnnlstm.data.source import find_source
from cnnlstm.core.errors import CnnLstmError
from cnnlstm.prediction.images import read_image
from cnnlstm.prediction.preprocess import needs_inversion, to_fashion_mnist

from conftest import REPO

RAW = find_source(None) or REPO / "data" / "raw"  # Fashion-MNIST as a fresh clone finds it
needs_raw = pytest.mark.skipif(not (RAW / "t10k-images-idx3-ubyte.gz").is_file(), reason="no local Fashion-MNIST copy")


@pytest.fixture(scope="module")
def test_images() -> np.ndarray:
    return load_split(RAW, "t10k").images


def png_header_only(width: int, height: int) -> bytes:
    """A PNG that claims width x height pixels but holds no pixel data: a decompression-bomb stand-in."""
    def chunk(kind: bytes, data: bytes) -> bytes:
        return struct.pack(">I", len(data)) + kind + data + struct.pack(">I", zlib.crc32(kind + data))
    ihdr = struct.pack(">IIBBBBB", width, height, 8, 0, 0, 0, 0)  # 8-bit grayscale
    return b"\x89PNG\r\n\x1a\n" + chunk(b"IHDR", ihdr) + chunk(b"IEND", b"")


def png_bytes(array: np.ndarray) -> bytes:
    buffer = io.BytesIO()
    Image.fromarray(array).save(buffer, format="PNG")
    return buffer.getvalue()


# --- the evaluate stage's images pass through unchanged ---------------------------------------

@needs_raw
def test_every_official_test_image_passes_unchanged(test_images: np.ndarray) -> None:
    assert not any(needs_inversion(image, "auto") for image in test_images)
    assert all(np.array_equal(to_fashion_mnist(image), image) for image in test_images)


@needs_raw
def test_png_round_trip_is_bit_identical(tmp_path: Path, test_images: np.ndarray) -> None:
    for i, image in enumerate(test_images[:20]):
        path = tmp_path / f"{i}.png"
        Image.fromarray(image).save(path)
        pixels = to_fashion_mnist(read_image(path))
        assert pixels.dtype == np.uint8 and np.array_equal(pixels, image)


@needs_raw
def test_inverted_28x28_image_is_restored_exactly(test_images: np.ndarray) -> None:
    image = test_images[0]
    assert np.array_equal(to_fashion_mnist(255 - image, "auto"), image)
    assert np.array_equal(to_fashion_mnist(255 - image, "yes"), image)
    assert np.array_equal(to_fashion_mnist(255 - image, "no"), 255 - image)
    assert np.array_equal(to_fashion_mnist(image, "yes"), 255 - image)


@needs_raw
def test_large_photo_on_white_becomes_the_dataset_image(tmp_path: Path, test_images: np.ndarray) -> None:
    """An image blown up 8x, dark on white, off-centre in a larger canvas, saved as a colour JPEG,
    comes back close to the original: inverted, trimmed, scaled and centred."""
    rng = np.random.default_rng(0)
    correlations = []
    for i, image in enumerate(test_images[:20]):
        photo = Image.new("RGB", (400, 300), "white")
        big = Image.fromarray(255 - image).resize((224, 224), Image.Resampling.BICUBIC).convert("RGB")
        photo.paste(big, (int(rng.integers(0, 176)), int(rng.integers(0, 76))))
        path = tmp_path / f"{i}.jpg"
        photo.save(path, quality=95)
        result = to_fashion_mnist(read_image(path))
        assert result.shape == (28, 28) and result.dtype == np.uint8
        correlations.append(np.corrcoef(result.ravel(), image.ravel().astype(float))[0, 1])
    assert np.median(correlations) > 0.9, correlations


# --- pixel formats ------------------------------------------------------------------------------

def test_transparent_background_counts_as_white(tmp_path: Path) -> None:
    rgba = np.zeros((60, 40, 4), dtype=np.uint8)  # fully transparent
    rgba[10:50, 10:30] = (20, 20, 20, 255)  # an opaque dark object
    Image.fromarray(rgba).save(tmp_path / "cutout.png")
    result = to_fashion_mnist(read_image(tmp_path / "cutout.png"))
    assert result[14, 14] > 200 and result[0, 0] == 0  # bright object on black, longest side 28


def test_16_bit_image_matches_its_8_bit_version(tmp_path: Path) -> None:
    pixels = np.random.default_rng(0).integers(0, 256, size=(30, 50), dtype=np.uint16)
    Image.fromarray(pixels * 257).save(tmp_path / "deep.png")  # 16-bit grayscale PNG
    assert Image.open(tmp_path / "deep.png").mode.startswith("I")
    assert np.array_equal(read_image(tmp_path / "deep.png"), pixels.astype(np.uint8))


def test_exif_orientation_is_applied(tmp_path: Path) -> None:
    exif = Image.Exif()
    exif[0x0112] = 6  # "rotate 90 degrees clockwise to display"
    Image.new("L", (60, 20), 128).save(tmp_path / "phone.jpg", exif=exif)
    assert read_image(tmp_path / "phone.jpg").shape == (60, 20)  # (H, W) as displayed


def test_huge_image_is_shrunk_before_processing(tmp_path: Path) -> None:
    Image.new("L", (3000, 1500), 255).save(tmp_path / "big.png")
    assert read_image(tmp_path / "big.png").shape == (512, 1024)


def test_blank_and_extreme_shapes_give_28x28(tmp_path: Path) -> None:
    assert not to_fashion_mnist(np.full((40, 50), 255, np.uint8)).any()  # blank white -> black
    line = np.zeros((1, 300), np.uint8)
    line[0, 100:200] = 255
    result = to_fashion_mnist(line)
    assert result.shape == (28, 28) and np.count_nonzero(result.any(axis=1)) == 1  # one centred row
    assert result[13].all()


# --- bad files: one clear line naming the file --------------------------------------------------

def _bad(tmp_path: Path, kind: str) -> Path:
    path = tmp_path / f"{kind}.png"
    noise = np.random.default_rng(0).integers(0, 256, size=(64, 64), dtype=np.uint8)
    if kind == "text":
        path.write_text("not an image at all\n")
    elif kind == "truncated":
        path.write_bytes(png_bytes(noise)[:2000])
    elif kind == "garbage_after_signature":
        path.write_bytes(b"\x89PNG\r\n\x1a\n" + bytes(range(256)) * 4)
    elif kind == "empty":
        path.touch()
    elif kind == "directory":
        path.mkdir()
    elif kind == "pillow_bomb":
        path.write_bytes(png_header_only(100_000, 100_000))  # 10 gigapixels, 50 bytes
    elif kind == "over_limit":
        path.write_bytes(png_header_only(9_000, 9_000))  # 81 megapixels: under Pillow's limit, over ours
    elif kind == "eps":  # Pillow would run Ghostscript on it
        path = tmp_path / "vector.eps"
        path.write_text("%!PS-Adobe-3.0 EPSF-3.0\n%%BoundingBox: 0 0 10 10\nshowpage\n")
    return path


@pytest.mark.parametrize(
    ("kind", "words"),
    [
        ("text", "not an image"),
        ("truncated", "truncated"),
        ("garbage_after_signature", "not an image"),
        ("empty", "empty file"),
        ("directory", "is a directory"),
        ("missing", "no such file"),
        ("pillow_bomb", "size limit"),
        ("over_limit", "over the limit"),
        ("eps", "not an image"),
    ],
)
def test_bad_file_is_a_one_line_error(tmp_path: Path, kind: str, words: str) -> None:
    path = _bad(tmp_path, kind)
    with pytest.raises(CnnLstmError) as info:
        read_image(path)
    message = str(info.value)
    assert message.startswith(f"{path}:") and words in message and "\n" not in message


def test_pixel_limit_is_configurable(tmp_path: Path) -> None:
    Image.new("L", (100, 100)).save(tmp_path / "small.png")
    with pytest.raises(CnnLstmError, match="100x100 pixels is over the limit of 5000"):
        read_image(tmp_path / "small.png", max_pixels=5000)
