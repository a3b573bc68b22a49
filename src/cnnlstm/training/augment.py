"""Augmentation of whole batches with tensor ops: no per-sample Python, same code on CPU and GPU.

Drawing the random numbers (`draw_augment`) is apart from applying them (`apply_augment`), so the
CUDA path can draw a whole epoch's numbers on the GPU up front and apply one step's slice inside a
captured graph; the CPU runs the very same step (training/step.py).
"""

from __future__ import annotations

from typing import NamedTuple

import torch
import torch.nn.functional as F

from cnnlstm.core.params import AugmentParams


class AugmentDraws(NamedTuple):
    """Random numbers for batches of shape (*lead, B); None where that augmentation is off."""

    dy: torch.Tensor | None  # (*lead, B, 1) crop offsets, long
    dx: torch.Tensor | None  # (*lead, B, 1)
    flip: torch.Tensor | None  # (*lead, B) bool
    area: torch.Tensor | None  # (*lead, B) erased share of the image, in [0.02, 0.33)
    log_ratio: torch.Tensor | None  # (*lead, B) log aspect ratio of the rectangle
    top: torch.Tensor | None  # (*lead, B) uniform [0, 1): position of the rectangle
    left: torch.Tensor | None  # (*lead, B)
    chosen: torch.Tensor | None  # (*lead, B) bool: this image is erased

    def select(self, step: torch.Tensor) -> AugmentDraws:
        """One step's draws out of (steps, B, ...) draws; `step` is a (1,) device tensor, so no sync."""
        return AugmentDraws(*(None if t is None else t.index_select(0, step).squeeze(0) for t in self))


def draw_augment(params: AugmentParams, shape: tuple[int, ...], generator: torch.Generator) -> AugmentDraws:
    """Draw on `generator`'s device, in one fixed order (a run's results depend on it)."""
    dev = generator.device
    dy = dx = flip = area = log_ratio = top = left = chosen = None
    if params.crop_padding:
        p = params.crop_padding
        dy, dx = torch.randint(0, 2 * p + 1, (2, *shape, 1), generator=generator, device=dev)
    if params.hflip:
        flip = torch.rand(shape, generator=generator, device=dev) < 0.5
    if params.erasing:
        area = torch.empty(shape, device=dev).uniform_(0.02, 0.33, generator=generator)
        log_ratio = torch.empty(shape, device=dev).uniform_(-1.2, 1.2, generator=generator)
        top = torch.rand(shape, generator=generator, device=dev)
        left = torch.rand(shape, generator=generator, device=dev)
        chosen = torch.rand(shape, generator=generator, device=dev) < params.erasing
    return AugmentDraws(dy, dx, flip, area, log_ratio, top, left, chosen)


def apply_augment(x: torch.Tensor, params: AugmentParams, draws: AugmentDraws) -> torch.Tensor:
    """Random crop after zero padding, horizontal flip and random erasing of (B, 1, H, W) pixels."""
    b, _, h, w = x.shape
    dev = x.device
    if params.crop_padding:
        p = params.crop_padding
        padded = F.pad(x, (p, p, p, p))  # (B, 1, H + 2p, W + 2p)
        rows = draws.dy.to(dev) + torch.arange(h, device=dev)  # (B, H) source row per output row
        cols = draws.dx.to(dev) + torch.arange(w, device=dev)  # (B, W)
        batch = torch.arange(b, device=dev)[:, None, None]
        x = padded[batch, 0, rows[:, :, None], cols[:, None, :]].unsqueeze(1)  # (B, 1, H, W)
    if params.hflip:
        x = torch.where(draws.flip.to(dev)[:, None, None, None], x.flip(-1), x)
    if params.erasing:
        x = _erase(x, draws)
    return x


def _erase(x: torch.Tensor, draws: AugmentDraws) -> torch.Tensor:
    """Zero one random rectangle (2%-33% of the area, aspect 0.3-3.3) in the chosen images.
    The mask is computed where the draws live, then moved to the pixels."""
    _, _, h, w = x.shape
    dev = draws.area.device
    area = h * w * draws.area
    eh = (area * draws.log_ratio.exp()).sqrt().round().clamp(1, h).long()
    ew = (area / draws.log_ratio.exp()).sqrt().round().clamp(1, w).long()
    top = (draws.top * (h - eh + 1)).long()
    left = (draws.left * (w - ew + 1)).long()
    ys = torch.arange(h, device=dev)[None, :]
    xs = torch.arange(w, device=dev)[None, :]
    in_rows = (ys >= top[:, None]) & (ys < (top + eh)[:, None])  # (B, H)
    in_cols = (xs >= left[:, None]) & (xs < (left + ew)[:, None])  # (B, W)
    mask = (in_rows[:, :, None] & in_cols[:, None, :] & draws.chosen[:, None, None]).to(x.device)
    return x.masked_fill(mask[:, None], 0.0)
