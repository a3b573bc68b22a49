"""What a model costs: parameters, FLOPs per image, batched throughput and single-image latency."""

from __future__ import annotations

import copy
import statistics
import time
import warnings
from typing import Any

import torch
from torch import nn
from torch.utils.flop_counter import FlopCounterMode

from cnnlstm.core.inference import predict_logits
from cnnlstm.models.registry import build_model
from cnnlstm.core.runtime import Runtime


def count_parameters(model: nn.Module) -> int:
    return sum(p.numel() for p in model.parameters())


def architecture_cost(family: str, config: Any) -> dict[str, int]:
    """Parameters and forward FLOPs per image of an architecture: properties of its config, the
    same for every fold, so they are counted once per model (the aggregate stage) rather than
    once per run (FlopCounterMode's first call costs seconds)."""
    model = build_model(family, config)
    return {"params": count_parameters(model), "flops_per_image": flops_per_image(model)}


def flops_per_image(model: nn.Module) -> int:
    """FLOPs of one forward pass of one 28x28 image (convolutions and matrix products; a
    multiply-add counts as 2), counted by PyTorch on the CPU.

    The oneDNN LSTM kernel is invisible to FlopCounterMode; with oneDNN off, the LSTM runs as
    the matrix products the counter sees (checked: row-LSTM h128 gives the analytic 4.47 MFLOP).
    """
    model = copy.deepcopy(model).cpu().eval()
    counter = FlopCounterMode(display=False)
    with warnings.catch_warnings():
        warnings.filterwarnings("ignore", message="TF32 acceleration on top of oneDNN")  # irrelevant on CPUs
        with torch.backends.mkldnn.flags(enabled=False), torch.inference_mode(), counter:
            model(torch.zeros(1, 1, 28, 28))
    return int(counter.get_total_flops())


def _synchronize(runtime: Runtime) -> None:
    if runtime.device.type == "cuda":
        torch.cuda.synchronize(runtime.device)


def timed_predict(
    model: nn.Module, images: torch.Tensor, runtime: Runtime, batch_size: int
) -> tuple[torch.Tensor, float]:
    """Logits of uint8 `images` and the throughput in images/s, measured after one warm-up batch
    (the first call pays for kernel selection and memory allocation)."""
    predict_logits(model, images[:batch_size], runtime, batch_size)
    _synchronize(runtime)
    start = time.perf_counter()
    logits = predict_logits(model, images, runtime, batch_size)  # returns on the CPU: synchronised
    seconds = time.perf_counter() - start
    return logits, len(images) / seconds


def latency_ms(model: nn.Module, image: torch.Tensor, runtime: Runtime, repeats: int = 30) -> float:
    """Median wall-clock milliseconds to classify one uint8 (1, 28, 28) image, after warm-up."""
    for _ in range(5):
        predict_logits(model, image, runtime)
    times = []
    for _ in range(repeats):
        start = time.perf_counter()
        predict_logits(model, image, runtime)
        times.append(time.perf_counter() - start)
    return 1000 * statistics.median(times)
