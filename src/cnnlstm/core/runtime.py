"""The device and numeric precision, resolved once and passed in explicitly."""

from __future__ import annotations

import contextlib
import ctypes
import ctypes.util
import os
import sys
from typing import NamedTuple

import torch

from cnnlstm.core.errors import CnnLstmError
from cnnlstm.core.hardware import cpu_name


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


# glibc mallopt parameters (malloc.h). Freed blocks above the mmap threshold (dynamic, from 128 KiB)
# go back to the OS, and so does a free heap top above the trim threshold; a CPU training step
# allocates and frees MB-sized feature maps, so each step page-faults them in afresh: that made a
# max-pool backward 17.9 ms instead of 0.9 ms and a BatchNorm backward 13 ms instead of 1.2 ms
# (bench/README.md). 32 MiB is glibc's largest mmap threshold; above it blocks still come from mmap.
_M_TRIM_THRESHOLD, _M_MMAP_THRESHOLD = -1, -3
_MMAP_THRESHOLD_BYTES = 32 << 20
_TRIM_THRESHOLD_BYTES = 1 << 30


def keep_freed_memory() -> None:
    """Keep freed CPU memory in the process (glibc only; elsewhere nothing changes)."""
    if not sys.platform.startswith("linux"):
        return
    name = ctypes.util.find_library("c")
    libc = ctypes.CDLL(name) if name else None
    if libc is None or not hasattr(libc, "mallopt") or not hasattr(libc, "gnu_get_libc_version"):
        return  # musl and other C libraries: their allocators differ, leave them as they are
    libc.mallopt(_M_MMAP_THRESHOLD, _MMAP_THRESHOLD_BYTES)
    libc.mallopt(_M_TRIM_THRESHOLD, _TRIM_THRESHOLD_BYTES)


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
        keep_freed_memory()
    use_bf16 = check_precision(section, resolved, precision)
    return Runtime(resolved, torch.bfloat16 if use_bf16 else None)


def hardware_name(device: torch.device) -> str:
    """The GPU's name on CUDA, else the CPU's (cpu_name)."""
    return torch.cuda.get_device_name(device) if device.type == "cuda" else cpu_name()
