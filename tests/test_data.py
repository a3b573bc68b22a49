"""Fashion-MNIST files: sources, checksums, IDX parsing, and every bad input the issue lists."""

from __future__ import annotations

import gzip
import hashlib
import tracemalloc
import zlib
from pathlib import Path

import numpy as np
import pytest

from cnnlstm.data import source
from cnnlstm.data.fashion_mnist import CLASSES, load_split
from cnnlstm.data.idx import gz_chunks, read_idx
from cnnlstm.core.errors import CnnLstmError
from conftest import idx_bytes, write_idx_gz


@pytest.fixture
def fake_official(synthetic_raw, monkeypatch) -> Path:
    """The synthetic files stand in for the official ones: their checksums become the expected ones."""
    sums = {p.name.removesuffix(".gz"): hashlib.sha256(gzip.decompress(p.read_bytes())).hexdigest()
            for p in synthetic_raw.glob("*.gz")}
    monkeypatch.setattr(source, "SHA256", sums)
    monkeypatch.delenv(source.ENV_VAR, raising=False)
    return synthetic_raw


def test_fetch_copies_and_verifies(fake_official, tmp_path):
    origin = source.fetch_raw(str(fake_official), tmp_path / "out")
    assert origin == fake_official
    assert sorted(p.name for p in (tmp_path / "out").iterdir()) == sorted(source.FILES)


def test_environment_variable_is_second_choice(fake_official, tmp_path, monkeypatch):
    monkeypatch.setenv(source.ENV_VAR, str(fake_official))
    assert source.fetch_raw(None, tmp_path / "out") == fake_official


def test_missing_source_folder(tmp_path):
    with pytest.raises(CnnLstmError, match="nowhere: source folder from params.yaml data.source does not exist"):
        source.fetch_raw(str(tmp_path / "nowhere"), tmp_path / "out")
    assert not (tmp_path / "out").exists()


def test_checksum_mismatch_leaves_no_output(fake_official, tmp_path):
    write_idx_gz(fake_official / "t10k-images-idx3-ubyte.gz", np.zeros((3, 28, 28), np.uint8))
    with pytest.raises(CnnLstmError, match=r"t10k-images-idx3-ubyte.gz: SHA-256 of the decompressed content is"):
        source.fetch_raw(str(fake_official), tmp_path / "out")
    assert not (tmp_path / "out").exists()
    assert not list(tmp_path.glob(".out.*"))


def test_truncated_gzip(fake_official, tmp_path):
    path = fake_official / "train-labels-idx1-ubyte.gz"
    path.write_bytes(path.read_bytes()[:-20])
    with pytest.raises(CnnLstmError, match="train-labels-idx1-ubyte.gz: truncated or corrupt gzip"):
        source.fetch_raw(str(fake_official), tmp_path / "out")
    assert not (tmp_path / "out").exists()


def test_offline_download_is_a_clear_error(tmp_path, monkeypatch):
    monkeypatch.delenv(source.ENV_VAR, raising=False)
    monkeypatch.setattr(source, "DEBIAN_DIR", tmp_path / "absent")
    monkeypatch.setattr(source, "MIRROR", "https://127.0.0.1:9/")
    with pytest.raises(CnnLstmError, match="download failed .*offline"):
        source.fetch_raw(None, tmp_path / "out")
    assert not (tmp_path / "out").exists()


def idx_file(path: Path, raw: bytes) -> Path:
    path.write_bytes(gzip.compress(raw))
    return path


def test_wrong_magic_number(tmp_path):
    raw = bytearray(idx_bytes(np.zeros((2, 28, 28), np.uint8)))
    raw[3] = 1  # claims one dimension
    with pytest.raises(CnnLstmError, match="x.gz: wrong IDX magic number 0x00000801, expected 0x00000803"):
        read_idx(idx_file(tmp_path / "x.gz", bytes(raw)), 3, 1 << 20)


@pytest.mark.parametrize(("cut", "has"), [(5, "1563"), (-7, "more")])
def test_wrong_dimensions(tmp_path, cut, has):
    raw = idx_bytes(np.zeros((2, 28, 28), np.uint8))
    raw = raw[:-cut] if cut > 0 else raw + bytes(-cut)
    with pytest.raises(CnnLstmError, match=f"x.gz: IDX dimensions 2x28x28 need 1568 bytes of data, file has {has}$"):
        read_idx(idx_file(tmp_path / "x.gz", raw), 3, 1 << 20)


def test_dimensions_beyond_the_official_size_are_refused_before_allocating(tmp_path):
    raw = idx_bytes(np.zeros((2, 28, 28), np.uint8))
    raw = raw[:4] + (4_000_000_000).to_bytes(4, "big") + raw[8:]  # 4e9 images declared
    with pytest.raises(CnnLstmError, match=r"IDX dimensions 4000000000x28x28 need .* room for at most 47040000 \(the official file.s size\)"):
        read_idx(idx_file(tmp_path / "x.gz", raw), 3, source.SIZES["train-images-idx3-ubyte"])


def test_images_must_be_28x28(synthetic_raw):
    write_idx_gz(synthetic_raw / "train-images-idx3-ubyte.gz", np.zeros((200, 27, 28), np.uint8))
    with pytest.raises(CnnLstmError, match="train-images-idx3-ubyte.gz: images are 27x28, expected 28x28"):
        load_split(synthetic_raw, "train")


def test_image_and_label_counts_must_match(synthetic_raw):
    write_idx_gz(synthetic_raw / "train-labels-idx1-ubyte.gz", np.zeros(199, np.uint8))
    with pytest.raises(CnnLstmError, match="train-labels-idx1-ubyte.gz: 199 labels for 200 images"):
        load_split(synthetic_raw, "train")


def test_synthetic_split_parses(synthetic_raw):
    split = load_split(synthetic_raw, "train")
    assert split.images.shape == (200, 28, 28) and split.images.dtype == np.uint8
    assert split.labels.dtype == np.int64 and set(split.labels) == set(range(10))


def test_real_files_verify_and_load():
    """The copy this machine has (Debian's package) is the official content."""
    folder = source.find_source(None)
    if folder is None:
        pytest.skip("no local Fashion-MNIST copy")
    for name in source.FILES:
        source.verify_file(folder / name)
    train, test = load_split(folder, "train"), load_split(folder, "t10k")
    assert train.images.shape == (60000, 28, 28) and test.images.shape == (10000, 28, 28)
    assert np.bincount(train.labels).tolist() == [6000] * 10
    assert len(CLASSES) == 10


def gzip_bomb(path: Path, inflated: int) -> Path:
    """`inflated` bytes of zeros, deflated (about 1,000:1)."""
    deflater = zlib.compressobj(9, zlib.DEFLATED, 16 + zlib.MAX_WBITS)
    zeros = bytes(1 << 20)
    with path.open("wb") as fh:
        for _ in range(inflated >> 20):
            fh.write(deflater.compress(zeros))
        fh.write(deflater.flush())
    return path


@pytest.mark.parametrize("reader", ["verify", "load"])
def test_gzip_bomb_is_refused_after_the_official_size_not_inflated(tmp_path, reader):
    """64 MB of zeros in place of the 60,008-byte train labels: decompression stops once past that size."""
    raw = tmp_path / "raw"
    raw.mkdir()
    bomb = gzip_bomb(raw / "train-labels-idx1-ubyte.gz", 64 << 20)
    write_idx_gz(raw / "train-images-idx3-ubyte.gz", np.zeros((2, 28, 28), np.uint8))
    tracemalloc.start()
    with pytest.raises(CnnLstmError) as error:
        source.verify_file(bomb) if reader == "verify" else load_split(raw, "train")
    peak = tracemalloc.get_traced_memory()[1]
    tracemalloc.stop()
    assert str(error.value) == (f"{bomb}: decompresses to more than 60,008 bytes, more than the file can hold; "
                                "not a Fashion-MNIST file (a gzip bomb?)")
    assert peak < 8 << 20  # a few chunks of 1 MB, not 64 MB


def test_multi_member_gzip_reads_whole(tmp_path):
    images = (np.arange(2 * 28 * 28) % 251).astype(np.uint8).reshape(2, 28, 28)
    content = idx_bytes(images)
    path = tmp_path / "two-members.gz"
    path.write_bytes(gzip.compress(content[:1000]) + gzip.compress(content[1000:]))
    assert (read_idx(path, 3, len(content)) == images).all()


@pytest.mark.parametrize("damage", ["cut inside", "garbage after", "crc"])
def test_damaged_gzip_is_one_line(tmp_path, damage):
    data = bytearray(gzip.compress(bytes(range(256)) * 400))
    if damage == "cut inside":
        data = data[: len(data) // 2]
    elif damage == "garbage after":
        data += b"not gzip"
    else:
        data[-8] ^= 0xFF  # the CRC-32 in the trailer
    path = tmp_path / "x.gz"
    path.write_bytes(bytes(data))
    with pytest.raises(CnnLstmError, match=r"^.*x.gz: truncated or corrupt gzip file \(.*\)$"):
        b"".join(gz_chunks(path, 1 << 20))
