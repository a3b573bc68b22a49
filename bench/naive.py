"""The naive reference loop a newcomer would write: torchvision's FashionMNIST, a DataLoader with
per-sample transforms, AdamW. Our speed-up is measured against it side by side in the
same process, on the same architecture, at the same precision and thread count."""

from __future__ import annotations

import gzip
import shutil
from collections.abc import Iterator
from pathlib import Path

import torch
import torch.nn.functional as F
from torch import nn
from torch.utils.data import DataLoader
from torchvision import datasets, transforms

from cnnlstm.core.params import AugmentParams
from cnnlstm.core.runtime import Runtime
from measure import Run

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


def dataset(root: Path, augment: AugmentParams) -> datasets.FashionMNIST:
    """Per-sample PIL transforms doing what our batch augmentation does (crop and flip only)."""
    steps = [transforms.ToTensor(), transforms.Normalize((MEAN,), (STD,))]
    if augment.crop_padding:
        steps.append(transforms.RandomCrop(28, padding=augment.crop_padding))
    if augment.hflip:
        steps.append(transforms.RandomHorizontalFlip())
    return datasets.FashionMNIST(str(root), train=True, transform=transforms.Compose(steps), download=False)


def training(model: nn.Module, data: datasets.FashionMNIST, batch_size: int, runtime: Runtime) -> Run:
    """The naive loop as a `measure.Run`. The model's own normalisation stays the identity: the
    transform normalises instead, as in such scripts. Its weights keep torch's default memory
    format even if the library's models come channels-last: that is what a newcomer runs. At
    bf16 it wraps the forward pass in `torch.autocast`, the one line such a script would add."""
    model.to(runtime.device, memory_format=torch.contiguous_format).train()
    loader = DataLoader(data, batch_size=batch_size, shuffle=True)
    optimizer = torch.optim.AdamW(model.parameters())
    batches = _endless(loader)

    def run(steps: int) -> int:
        for _ in range(steps):
            x, y = next(batches)
            x, y = x.to(runtime.device), y.to(runtime.device)
            optimizer.zero_grad()
            with runtime.autocast():
                logits = model(x)
            loss = F.cross_entropy(logits.float(), y)
            loss.backward()
            optimizer.step()
        return steps * batch_size

    return run


def _endless(loader: DataLoader) -> Iterator[tuple[torch.Tensor, torch.Tensor]]:
    while True:
        yield from loader
