"""What the benchmark ran on, and that machine's own matmul peak (the hardware limit to compare with)."""

from __future__ import annotations

import os
import platform
import time
from pathlib import Path

import torch

from cnnlstm.core.runtime import cpu_has_bf16


def cpu_model() -> str:
    """The CPU's marketing name from /proc/cpuinfo (Linux), else whatever platform reports."""
    cpuinfo = Path("/proc/cpuinfo")
    if cpuinfo.is_file():
        for line in cpuinfo.read_text().splitlines():
            if line.startswith("model name"):
                return line.split(":", 1)[1].strip()
    return platform.processor() or "unknown CPU"


def describe() -> list[str]:
    """One line per fact: CPU, cores, ISA, torch and its threads, GPU, how busy the machine is."""
    cores = len(os.sched_getaffinity(0)) if hasattr(os, "sched_getaffinity") else os.cpu_count()
    lines = [
        f"CPU: {cpu_model()}, {cores} cores usable, ISA {torch.backends.cpu.get_cpu_capability()}, "
        f"native bf16: {'yes' if cpu_has_bf16() else 'no'}",
        f"torch {torch.__version__}, {torch.get_num_threads()} threads; Python {platform.python_version()}",
    ]
    if torch.cuda.is_available():
        lines.append(f"GPU: {torch.cuda.get_device_name()}")
    if hasattr(os, "getloadavg"):
        load = os.getloadavg()[0]
        busy = " (busy: others share the cores, expect low and noisy numbers)" if load > 0.5 * cores else ""
        lines.append(f"load average (1 min) at start: {load:.1f} on {cores} cores{busy}")
    return lines


def matmul_peak(device: torch.device, dtype: torch.dtype, seconds: float) -> float:
    """GFLOP/s of the fastest square torch.mm in the window: about the best any layer can reach.
    The fastest call, not the median, because a limit is a best case: on a shared machine the
    median measures the other users. Small CPU matrices (8 ms calls) often run undisturbed."""
    n = 4096 if device.type == "cuda" else 512
    a = torch.randn(n, n, device=device).to(dtype)
    b = torch.randn(n, n, device=device).to(dtype)
    torch.mm(a, b)  # warm-up: kernel selection, page faults
    fastest = float("inf")
    calls = 0
    deadline = time.perf_counter() + seconds
    while calls < 3 or time.perf_counter() < deadline:
        started = time.perf_counter()
        torch.mm(a, b)
        if device.type == "cuda":
            torch.cuda.synchronize()
        fastest = min(fastest, time.perf_counter() - started)
        calls += 1
    return 2 * n**3 / fastest / 1e9


def peak_dtypes(device: torch.device) -> list[torch.dtype]:
    """fp32 always; bf16 only where the hardware has it (emulated bf16 is ~100x slower, not a limit)."""
    has_bf16 = torch.cuda.is_bf16_supported() if device.type == "cuda" else cpu_has_bf16()
    return [torch.float32, torch.bfloat16] if has_bf16 else [torch.float32]


def stream_bandwidth(size_bytes: int, seconds: float) -> float:
    """GB/s of the fastest copy of a `size_bytes` fp32 tensor into another (bytes read + written)
    in the window: a streaming limit, the best case as for matmul_peak."""
    src = torch.rand(size_bytes // 4)
    dst = torch.empty_like(src)
    dst.copy_(src)  # warm-up: page faults
    fastest = float("inf")
    calls = 0
    deadline = time.perf_counter() + seconds
    while calls < 3 or time.perf_counter() < deadline:
        started = time.perf_counter()
        dst.copy_(src)
        fastest = min(fastest, time.perf_counter() - started)
        calls += 1
    return 2 * size_bytes / fastest / 1e9
