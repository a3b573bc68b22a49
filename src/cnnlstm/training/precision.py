"""The precision each layer really runs in, recorded rather than assumed, and the RNN exception on CUDA."""

from __future__ import annotations

import contextlib
import functools
from collections.abc import Iterator

import torch
from torch import nn

RNNS = (nn.LSTM, nn.GRU)


def _first_tensor(output: object) -> torch.Tensor | None:
    """A layer's output tensor; an RNN returns (output, state)."""
    while isinstance(output, (tuple, list)) and output:
        output = output[0]
    return output if isinstance(output, torch.Tensor) else None


@contextlib.contextmanager
def layer_dtypes(model: nn.Module) -> Iterator[dict[str, str]]:
    """Within the block, record {module path: dtype of its output} for every leaf layer and RNN
    that runs (forward hooks: they read metadata only, never a value, so no host sync)."""
    found: dict[str, str] = {}

    def hook(name: str, module: nn.Module, args: object, output: object) -> None:
        tensor = _first_tensor(output)
        if tensor is not None:
            found.setdefault(name, str(tensor.dtype).removeprefix("torch."))

    handles = [m.register_forward_hook(functools.partial(hook, name)) for name, m in model.named_modules()
               if name and (not list(m.children()) or isinstance(m, RNNS))]
    try:
        yield found
    finally:
        for handle in handles:
            handle.remove()


def rnn_dtype(dtypes: dict[str, str], model: nn.Module) -> str | None:
    """The dtype the model's RNNs ran in ('mixed' if they differ); None for a model without one."""
    seen = {dtypes[name] for name, m in model.named_modules() if isinstance(m, RNNS) and name in dtypes}
    return None if not seen else seen.pop() if len(seen) == 1 else "mixed"


def rnns_in_fp32(model: nn.Module) -> None:
    """Run the model's RNNs with autocast off, in fp32, on CUDA.

    Why: CUDA autocast's kernel for cuDNN RNNs (aten/src/ATen/cudnn/AutocastRNN.cpp,
    `_cudnn_rnn_cast_reflatten`) casts input, state and weights to fp16 whatever autocast's dtype,
    so under bf16 autocast the LSTM would run fp16 with no loss scaling, while run.json said bf16.
    fp32 keeps bf16's guarantee (no overflow, no underflowed gradients) at a small cost: the
    reader is a few percent of a step. The CPU's oneDNN LSTM honours bf16 and is left alone."""
    for module in model.modules():
        if isinstance(module, RNNS) and not getattr(module, "_fp32_under_autocast", False):
            module.forward = _autocast_off(module.forward, module)
            module._fp32_under_autocast = True


def _autocast_off(forward, module: nn.Module):
    @functools.wraps(forward)
    def run(*args, **kwargs):
        device = next(module.parameters()).device.type
        with torch.autocast(device, enabled=False):
            args = tuple(_fp32(a) for a in args)
            return forward(*args, **kwargs)
    return run


def _fp32(value: object) -> object:
    if isinstance(value, torch.Tensor) and value.is_floating_point():
        return value.float()
    if isinstance(value, tuple):  # an RNN's (h0, c0)
        return tuple(_fp32(v) for v in value)
    return value
