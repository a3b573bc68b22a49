"""The machine's CPU by name, without importing torch (make repro's ETA reads it too)."""

from __future__ import annotations

import os
import platform
import re
from pathlib import Path


def cpu_name() -> str:
    """This machine's CPU, e.g. "Intel(R) Xeon(R) Processor, 2 CPUs, native bf16": run records and timing
    logs name it, because speed and the last bits of bf16 results depend on it."""
    cpu, flags = platform.machine(), ""
    cpuinfo = Path("/proc/cpuinfo")
    if cpuinfo.exists():
        text = cpuinfo.read_text()
        names = re.findall(r"^model name\s*:\s*(.+)$", text, re.MULTILINE)
        cpu = names[0] if names else cpu
        flags = ", native bf16" if re.search(r"\b(avx512_bf16|amx_bf16)\b", text) else ", no native bf16"
    return f"{cpu}, {os.cpu_count()} CPUs{flags}"
