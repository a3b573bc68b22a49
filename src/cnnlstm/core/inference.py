"""Batched inference shared by validation, the evaluate stage and `cnnlstm predict`."""

from __future__ import annotations

import torch
from torch import nn

from cnnlstm.core.runtime import Runtime


def to_pixels(images: torch.Tensor) -> torch.Tensor:
    """uint8 (B, 28, 28) or (B, 1, 28, 28) -> float (B, 1, 28, 28) in [0, 1]."""
    if images.dim() == 3:
        images = images.unsqueeze(1)
    return images.float().div_(255)


@torch.inference_mode()
def predict_logits(
    model: nn.Module, images: torch.Tensor, runtime: Runtime, batch_size: int = 256, features: bool = False
) -> torch.Tensor:
    """Logits (or penultimate features) of uint8 `images`, as float32 on the CPU."""
    model.eval()
    outputs = []
    for start in range(0, len(images), batch_size):
        x = to_pixels(images[start : start + batch_size].to(runtime.device))
        with runtime.autocast():
            out = model.features(x) if features else model(x)
        outputs.append(out.float().cpu())
    if not outputs:
        return torch.empty(0, 10)
    return torch.cat(outputs)
