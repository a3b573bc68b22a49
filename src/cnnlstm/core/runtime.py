"""The device and numeric precision, resolved once and passed in explicitly."""

from __future__ import annotations

import contextlib
import os
from typing import NamedTuple

import torch

from cnnlstm.core.errors import CnnLstmError


class Runtime(NamedTuple):
    device: torch.device
    amp_dtype: torch.dtype | None  # autocast dtype; None: plain fp32

    def autocast(self) -> contextlib.AbstractContextManager:
        if self.amp_dtype is None:
            return contextlib.nullcontext()
        return torch.autocast(self.device.type, dtype=self.amp_dtype)


def cpu_has_bf16() -> bool:
    """True on CPUs with native bf16 instructions (AVX512-BF16 / AMX), where autocast pays off."""
    return bool(torch.backends.mkldnn.is_available() and torch.ops.mkldnn._is_mkldnn_bf16_supported())


def resolve_runtime(device: str, precision: str, threads: int = 0) -> Runtime:
    """`auto` picks CUDA when present; precision `auto` picks bf16 where the hardware has it."""
    if device == "auto":
        device = "cuda" if torch.cuda.is_available() else "cpu"
    if device == "cuda" and not torch.cuda.is_available():
        raise CnnLstmError("train.device: cuda requested but no CUDA device is available")
    if device == "cpu":
        torch.set_num_threads(threads or len(os.sched_getaffinity(0)))
    has_bf16 = torch.cuda.is_bf16_supported() if device == "cuda" else cpu_has_bf16()
    if precision == "bf16" and not has_bf16:
        raise CnnLstmError(f"train.precision: bf16 requested but this {device} does not support it")
    use_bf16 = precision == "bf16" or (precision == "auto" and has_bf16)
    return Runtime(torch.device(device), torch.bfloat16 if use_bf16 else None)
