"""A dispatch mode that fails on any host read: what would break a CUDA graph capture, caught on the CPU.

Inside `torch.cuda.graph` a value read back to the host (`.item()`, `bool(t)`, a data-dependent
output shape) raises; on the CPU the same code runs silently. Every such read reaches ATen as one
of the ops below, whatever the device, so running the exact step on the CPU under this mode proves
the step has none (tests/test_step.py). It cannot see a kernel that syncs inside CUDA itself.
"""

from __future__ import annotations

import torch
from torch.utils._python_dispatch import TorchDispatchMode

# Ops that hand a tensor's value, or a shape that depends on its values, to the host.
HOST_READS = frozenset({
    "aten._local_scalar_dense", "aten.item", "aten.is_nonzero", "aten.equal", "aten.allclose",
    "aten.nonzero", "aten.argwhere", "aten.masked_select", "aten.unique_consecutive", "aten.unique_dim",
    "aten._unique", "aten._unique2", "aten.repeat_interleave", "aten.bincount",
})

# Indexing by a mask: the kernel calls nonzero inside, where the mode no longer looks.
MASK_INDEXED = frozenset({"aten.index", "aten.index_put", "aten._index_put_impl_"})


class HostRead(RuntimeError):
    """An op read a device value on the host."""


class NoHostReads(TorchDispatchMode):
    """Raises `HostRead` at the first op in HOST_READS; counts the ops it saw."""

    def __init__(self) -> None:
        super().__init__()
        self.ops = 0

    def __torch_dispatch__(self, func, types, args=(), kwargs=None):
        name = func.overloadpacket._qualified_op_name.replace("::", ".")
        if name in HOST_READS:
            raise HostRead(f"host read in a step that must be capturable: {func}")
        if name in MASK_INDEXED and any(
            t is not None and t.dtype in (torch.bool, torch.uint8) for t in args[1]
        ):
            raise HostRead(f"host read in a step that must be capturable: {func} by a mask (nonzero)")
        self.ops += 1
        return func(*args, **(kwargs or {}))
