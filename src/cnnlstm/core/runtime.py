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


def resolve_device(section: str, device: str) -> torch.device:
    """`auto` picks CUDA when present; `cuda` without a GPU is an error naming `section`.device."""
    if device == "auto":
        device = "cuda" if torch.cuda.is_available() else "cpu"
    if device == "cuda" and not torch.cuda.is_available():
        raise CnnLstmError(f"{section}.device: cuda requested but no CUDA device is available")
    return torch.device(device)


def check_precision(section: str, device: torch.device, precision: str) -> bool:
    """Whether to use bf16; `bf16` where `device` lacks it is an error naming `section`.precision."""
    has_bf16 = torch.cuda.is_bf16_supported() if device.type == "cuda" else cpu_has_bf16()
    if precision == "bf16" and not has_bf16:
        raise CnnLstmError(f"{section}.precision: bf16 requested but this {device.type} does not support it")
    return precision == "bf16" or (precision == "auto" and has_bf16)


def resolve_runtime(device: str, precision: str, threads: int = 0, section: str = "train") -> Runtime:
    """`auto` picks CUDA when present; precision `auto` picks bf16 where the hardware has it.
    `section` is the params section the settings come from, named in errors."""
    resolved = resolve_device(section, device)
    if resolved.type == "cpu":
        torch.set_num_threads(threads or len(os.sched_getaffinity(0)))
    use_bf16 = check_precision(section, resolved, precision)
    return Runtime(resolved, torch.bfloat16 if use_bf16 else None)
