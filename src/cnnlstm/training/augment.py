"""Augmentation of whole batches with tensor ops: no per-sample Python, same code on CPU and GPU."""

from __future__ import annotations

import torch
import torch.nn.functional as F

from cnnlstm.core.params import AugmentParams


def augment_batch(x: torch.Tensor, params: AugmentParams, generator: torch.Generator) -> torch.Tensor:
    """Random crop after zero padding, horizontal flip and random erasing of (B, 1, H, W) pixels.

    Random numbers come from `generator` (on the CPU) so a batch's augmentation depends only on
    the seed, never on the device.
    """
    b, _, h, w = x.shape
    dev = x.device
    if params.crop_padding:
        p = params.crop_padding
        padded = F.pad(x, (p, p, p, p))  # (B, 1, H + 2p, W + 2p)
        dy, dx = torch.randint(0, 2 * p + 1, (2, b, 1), generator=generator).to(dev)
        rows = dy + torch.arange(h, device=dev)  # (B, H) source row per output row
        cols = dx + torch.arange(w, device=dev)  # (B, W)
        batch = torch.arange(b, device=dev)[:, None, None]
        x = padded[batch, 0, rows[:, :, None], cols[:, None, :]].unsqueeze(1)  # (B, 1, H, W)
    if params.hflip:
        flip = (torch.rand(b, generator=generator) < 0.5).to(dev)
        x = torch.where(flip[:, None, None, None], x.flip(-1), x)
    if params.erasing:
        x = _erase(x, params.erasing, generator)
    return x


def _erase(x: torch.Tensor, probability: float, generator: torch.Generator) -> torch.Tensor:
    """Zero one random rectangle (2%-33% of the area, aspect 0.3-3.3) in a random share of images."""
    b, _, h, w = x.shape
    dev = x.device
    area = h * w * torch.empty(b).uniform_(0.02, 0.33, generator=generator)
    log_ratio = torch.empty(b).uniform_(-1.2, 1.2, generator=generator)
    eh = (area * log_ratio.exp()).sqrt().round().clamp(1, h).long()
    ew = (area / log_ratio.exp()).sqrt().round().clamp(1, w).long()
    top = (torch.rand(b, generator=generator) * (h - eh + 1)).long()
    left = (torch.rand(b, generator=generator) * (w - ew + 1)).long()
    chosen = torch.rand(b, generator=generator) < probability
    ys = torch.arange(h)[None, :]
    xs = torch.arange(w)[None, :]
    in_rows = (ys >= top[:, None]) & (ys < (top + eh)[:, None])  # (B, H)
    in_cols = (xs >= left[:, None]) & (xs < (left + ew)[:, None])  # (B, W)
    mask = (in_rows[:, :, None] & in_cols[:, None, :] & chosen[:, None, None]).to(dev)
    return x.masked_fill(mask[:, None], 0.0)
