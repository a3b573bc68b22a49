"""The naive reference loop a newcomer would write: torchvision's FashionMNIST, a DataLoader with
per-sample PIL transforms, fp32, default threads, batch 128, AdamW. Our speed-up is measured
against it, side by side in the same process, on the same model architecture."""

from __future__ import annotations

import contextlib
import gzip
import shutil
from collections.abc import Iterator
from pathlib import Path

import torch
import torch.nn.functional as F
from torch import nn
from torch.utils.data import DataLoader
from torchvision import datasets, transforms

from measure import Window, median_seconds, timed

BATCH_SIZE = 128
# Fashion-MNIST's training mean and std, the constants such scripts hard-code.
MEAN, STD = 0.2860, 0.3530


def prepare_root(raw_dir: Path, root: Path) -> Path:
    """A torchvision root from our verified .gz files: torchvision reads decompressed IDX files
    from root/FashionMNIST/raw/ and would otherwise try to download them."""
    target = root / "FashionMNIST" / "raw"
    target.mkdir(parents=True, exist_ok=True)
    for packed in sorted(raw_dir.glob("*-ubyte.gz")):
        with gzip.open(packed, "rb") as src, (target / packed.name.removesuffix(".gz")).open("wb") as dst:
            shutil.copyfileobj(src, dst)
    return root


def dataset(root: Path) -> datasets.FashionMNIST:
    augment = transforms.Compose([
        transforms.ToTensor(),
        transforms.Normalize((MEAN,), (STD,)),
        transforms.RandomCrop(28, padding=2),
        transforms.RandomHorizontalFlip(),
    ])
    return datasets.FashionMNIST(str(root), train=True, transform=augment, download=False)


@contextlib.contextmanager
def num_threads(threads: int) -> Iterator[None]:
    """Run with `threads` intra-op threads, then restore the previous setting."""
    before = torch.get_num_threads()
    torch.set_num_threads(threads)
    try:
        yield
    finally:
        torch.set_num_threads(before)


def training_rate(model: nn.Module, data: datasets.FashionMNIST, device: torch.device, window: Window) -> float:
    """Images/s of the naive loop. The model's own normalisation stays the identity: the
    transform normalises instead, as in such scripts. Its weights keep torch's default memory
    format even if the library's models come channels-last: that is what a newcomer runs."""
    model.to(device, memory_format=torch.contiguous_format).train()
    loader = DataLoader(data, batch_size=BATCH_SIZE, shuffle=True)
    optimizer = torch.optim.AdamW(model.parameters())
    batches = _endless(loader)

    def step() -> None:
        x, y = next(batches)
        x, y = x.to(device), y.to(device)
        optimizer.zero_grad()
        loss = F.cross_entropy(model(x), y)
        loss.backward()
        optimizer.step()

    timed(step, device)  # warm-up
    return BATCH_SIZE / median_seconds(step, window, device)


def _endless(loader: DataLoader) -> Iterator[tuple[torch.Tensor, torch.Tensor]]:
    while True:
        yield from loader
