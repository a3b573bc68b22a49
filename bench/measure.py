"""Timing the library's own training step and inference path over short fixed windows.

Every rate comes from the median of several timed calls after a warm-up call: on a shared
machine a median shrugs off the moments another process takes the cores.
"""

from __future__ import annotations

import copy
import dataclasses
import statistics
import time
import warnings
from collections.abc import Callable

import torch
from torch import nn
from torch.utils.flop_counter import FlopCounterMode

from cnnlstm.core.inference import predict_logits
from cnnlstm.core.params import TrainParams
from cnnlstm.core.runtime import Runtime
from cnnlstm.training.loop import train_one_epoch
from cnnlstm.training.progress import Progress
from cnnlstm.training.run import make_optimizer

CALLS = 5  # timed calls per window: enough for a median


@dataclasses.dataclass(frozen=True)
class Window:
    """How long to measure: `seconds` per measurement, split into at least `min_calls` timed calls."""

    seconds: float
    min_calls: int = 3


def _sync(device: torch.device) -> None:
    if device.type == "cuda":
        torch.cuda.synchronize()


def timed(call: Callable[[], object], device: torch.device) -> float:
    """Seconds of one call, including the device's queued work."""
    started = time.perf_counter()
    call()
    _sync(device)
    return time.perf_counter() - started


def median_seconds(call: Callable[[], object], window: Window, device: torch.device) -> float:
    """Median seconds of `call`, repeated for the window and at least `min_calls` times.
    The caller warms up first (kernel selection, allocation)."""
    times: list[float] = []
    deadline = time.perf_counter() + window.seconds
    while len(times) < window.min_calls or time.perf_counter() < deadline:
        times.append(timed(call, device))
    return statistics.median(times)


def items_per_second(run: Callable[[int], int], max_units: int, window: Window, device: torch.device) -> float:
    """Rate of `run(units)`, which returns how many items it processed. Its warm-up call of one
    unit also sizes the timed calls: about CALLS of them fill the window, so per-call overhead
    stays small for fast models."""
    warm_up = timed(lambda: run(1), device)
    units = max(1, min(round(window.seconds / CALLS / warm_up), max_units))
    counts: list[int] = []
    seconds = median_seconds(lambda: counts.append(run(units)), window, device)
    return counts[-1] / seconds


def training_rate(
    model: nn.Module, images: torch.Tensor, labels: torch.Tensor, train: TrainParams, runtime: Runtime,
    window: Window,
) -> float:
    """Images/s of `train_one_epoch` (our whole step: resident uint8 batch, batch augmentation,
    autocast, loss, backward, AdamW, scheduler) on `images` resident on the device."""
    optimizer, scheduler = make_optimizer(model, train, steps=10**9)  # never runs out of schedule
    generator = torch.Generator().manual_seed(0)
    progress = Progress("bench", 1)
    progress.interactive = False  # no progress bar inside timed windows
    order = torch.randperm(len(images), generator=generator)

    def run(batches: int) -> int:
        index = order[: batches * train.batch_size]
        train_one_epoch(model, images, labels, index, optimizer, scheduler, train, runtime, generator, progress)
        return len(index) // train.batch_size * train.batch_size  # the loop drops a ragged tail

    return items_per_second(run, len(images) // train.batch_size, window, runtime.device)


def inference_rate(model: nn.Module, images: torch.Tensor, runtime: Runtime, batch_size: int, window: Window) -> float:
    """Images/s of `predict_logits` (the evaluate stage's path) at `batch_size`."""

    def run(batches: int) -> int:
        chunk = images[: batches * batch_size]
        predict_logits(model, chunk, runtime, batch_size)
        return len(chunk)

    return items_per_second(run, len(images) // batch_size, window, runtime.device)


def latency_ms(model: nn.Module, images: torch.Tensor, runtime: Runtime, window: Window) -> float:
    """Median milliseconds to classify one image through `predict_logits`."""

    def run() -> None:
        predict_logits(model, images[:1], runtime, batch_size=1)

    timed(run, runtime.device)  # warm-up
    return 1e3 * median_seconds(run, window, runtime.device)


def flops_per_image(model: nn.Module) -> int:
    """Forward FLOPs of one image, counted on a CPU copy with oneDNN off: oneDNN's fused LSTM is
    invisible to FlopCounterMode, while the native LSTM decomposes into counted matmuls."""
    probe = copy.deepcopy(model).cpu().eval()
    batch = 2  # >1 so nothing special-cases a single image
    with warnings.catch_warnings():
        warnings.filterwarnings("ignore", message="TF32 acceleration")  # torch's notice on toggling oneDNN
        with torch.backends.mkldnn.flags(enabled=False), torch.inference_mode():
            with FlopCounterMode(display=False) as counter:
                probe(torch.rand(batch, 1, 28, 28))
    return counter.get_total_flops() // batch
