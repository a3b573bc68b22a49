"""Timing two training loops side by side, and our inference path; every count (FLOPs, parameters,
throughput, latency) comes from cnnlstm.models.cost, the evaluate stage's counter.

A machine shared with other work speeds up and slows down from second to second. Absolute rates
follow that load; a ratio of two rates taken from alternating calls mostly does not, so the
speed-up is the median of several such ratios.
"""

from __future__ import annotations

import dataclasses
import statistics
import time
from collections.abc import Callable, Sequence
from typing import TypeVar

import torch
from torch import nn

from cnnlstm.core.params import TrainParams
from cnnlstm.core.runtime import Runtime
from cnnlstm.models.cost import timed_predict

CALLS = 5  # timed calls per window: enough for a median
T = TypeVar("T")
Run = Callable[[int], int]  # run(units) processes `units` batches and returns the images it trained on
Step = Callable[[], int]  # one timed call of a sized Run


@dataclasses.dataclass(frozen=True)
class Window:
    """How long to time one loop: `seconds`, split into at least `min_calls` timed calls."""

    seconds: float
    min_calls: int = 3


@dataclasses.dataclass(frozen=True)
class Comparison:
    """Images/s of our loop and the naive one, one pair per side-by-side repeat."""

    ours: tuple[float, ...]
    naive: tuple[float, ...]

    @property
    def ratios(self) -> tuple[float, ...]:
        return tuple(o / n for o, n in zip(self.ours, self.naive))

    @property
    def speedup(self) -> float:
        """The median of the per-repeat ratios (not the ratio of medians: each ratio is like for like)."""
        return statistics.median(self.ratios)


def spread(values: Sequence[float], fmt: str) -> str:
    """The median with the range of repeats, e.g. "2,388 [1,833-2,442]"."""
    return f"{fmt.format(statistics.median(values))} [{fmt.format(min(values))}-{fmt.format(max(values))}]"


def _sync(device: torch.device) -> None:
    if device.type == "cuda":
        torch.cuda.synchronize()


def timed(call: Callable[[], T], device: torch.device) -> tuple[float, T]:
    """Seconds of one call, including the device's queued work, and what it returned."""
    started = time.perf_counter()
    result = call()
    _sync(device)
    return time.perf_counter() - started, result


def sized(run: Run, max_units: int, window: Window, device: torch.device) -> Step:
    """`run` with as many units per call as let about CALLS calls fill the window, so per-call
    overhead stays small for fast models. Its warm-up call (kernel selection, allocation) sizes it."""
    warm_up, _ = timed(lambda: run(1), device)
    units = max(1, min(round(window.seconds / CALLS / warm_up), max_units))
    return lambda: run(units)


def side_by_side(ours: Step, naive: Step, window: Window, repeats: int, device: torch.device) -> Comparison:
    """`repeats` windows in which the two loops' calls alternate (ours, naive, ours, ...; the side
    that starts alternates too), one rate per loop from its median call in the window. A load that
    comes and goes within seconds then slows both sides of a ratio alike."""
    ours_rates, naive_rates = [], []
    for repeat in range(repeats):
        loops = (ours, naive) if repeat % 2 == 0 else (naive, ours)
        times: dict[Step, list[float]] = {loop: [] for loop in loops}
        counts: dict[Step, int] = {}
        deadline = time.perf_counter() + 2 * window.seconds
        while min(map(len, times.values())) < window.min_calls or time.perf_counter() < deadline:
            for loop in loops:
                seconds, counts[loop] = timed(loop, device)
                times[loop].append(seconds)
        ours_rates.append(counts[ours] / statistics.median(times[ours]))
        naive_rates.append(counts[naive] / statistics.median(times[naive]))
    return Comparison(ours=tuple(ours_rates), naive=tuple(naive_rates))


def our_training(
    model: nn.Module, images: torch.Tensor, labels: torch.Tensor, train: TrainParams, runtime: Runtime
) -> Run:
    """Our whole step, training/step.py's `TrainStep.step` itself: resident uint8 batch, batch
    augmentation, autocast, loss, backward, the AdamW update; on `images` resident on the device."""
    from cnnlstm.training.step import TrainStep  # here: the base tree of the step comparison has no step.py

    index = torch.arange(len(images))
    trainer = TrainStep(model, images, labels, index, train, runtime, total_steps=len(index) // train.batch_size)
    model.train()

    def run(batches: int) -> int:
        trainer.new_epoch(0)  # the schedule restarts at step 0: a call never runs past its tables
        for _ in range(batches):
            trainer.eager_step()
        return batches * train.batch_size

    return run


def inference_rate(model: nn.Module, images: torch.Tensor, runtime: Runtime, batch_size: int, window: Window) -> float:
    """Images/s of `timed_predict` (the evaluate stage's measurement) at `batch_size`: the median
    of a few passes over as many images as fill the window."""
    _, first = timed_predict(model, images[: 2 * batch_size], runtime, batch_size)
    count = min(len(images), max(batch_size, round(first * window.seconds / window.min_calls)))
    return statistics.median(
        timed_predict(model, images[:count], runtime, batch_size)[1] for _ in range(window.min_calls)
    )



class _Traffic(torch.utils._python_dispatch.TorchDispatchMode):
    """Sums the bytes of every op's tensor inputs and outputs: what the step's ops read and write
    if nothing stayed in a cache between them (views and metadata ops move nothing)."""

    FREE = {"view", "_unsafe_view", "as_strided", "t", "transpose", "permute", "expand", "unsqueeze", "squeeze",
            "detach", "alias", "slice", "select", "split", "unbind", "_reshape_alias", "empty", "empty_strided",
            "empty_like", "lift_fresh"}

    def __init__(self) -> None:
        super().__init__()
        self.bytes = 0

    def __torch_dispatch__(self, func, types, args=(), kwargs=None):  # noqa: ANN001, ANN204
        out = func(*args, **(kwargs or {}))
        if func.__name__.split(".")[0] not in self.FREE:
            leaves = torch.utils._pytree.tree_leaves((args, kwargs, out))
            self.bytes += sum(t.numel() * t.element_size() for t in leaves if isinstance(t, torch.Tensor))
        return out


def traffic(call: Callable[[], object]) -> int:
    """Bytes the ops of `call` read and write (see _Traffic)."""
    mode = _Traffic()
    with mode:
        call()
    return mode.bytes
