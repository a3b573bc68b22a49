"""`--explain`: an occlusion map of which pixels the prediction rests on, saved as a PNG.

Occlusion needs forward passes only (no gradients), so it works for every model family on every
device, cuDNN LSTMs included, whose backward pass refuses to run in eval mode.
"""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path

import numpy as np
import torch
from PIL import Image

from cnnlstm.core.atomic import atomic_path
from cnnlstm.core.errors import CnnLstmError

PATCH = 6  # pixels blacked out at a time: about the width of a sleeve or a heel
STRIDE = 2  # 12 x 12 = 144 occluded copies per image
ZOOM = 8  # 28 -> 224 pixels per panel


def occlusion_map(
    probabilities: Callable[[torch.Tensor], torch.Tensor], image: np.ndarray, target: int
) -> np.ndarray:
    """(28, 28) uint8 -> (28, 28) float in [0, 1]: mean drop of the target class's probability
    when a patch covering the pixel is set to the background (black), scaled to the largest drop."""
    side = image.shape[0]
    corners = [(r, c) for r in range(0, side - PATCH + 1, STRIDE) for c in range(0, side - PATCH + 1, STRIDE)]
    batch = np.repeat(image[None], len(corners) + 1, axis=0)  # (1 + P, 28, 28); copy 0 stays intact
    for i, (r, c) in enumerate(corners, start=1):
        batch[i, r : r + PATCH, c : c + PATCH] = 0
    probs = probabilities(torch.from_numpy(batch))[:, target].numpy()
    drops = np.clip(probs[0] - probs[1:], 0, None)
    total, count = np.zeros((side, side)), np.zeros((side, side))
    for drop, (r, c) in zip(drops, corners):
        total[r : r + PATCH, c : c + PATCH] += drop
        count[r : r + PATCH, c : c + PATCH] += 1
    heat = total / np.maximum(count, 1)
    return heat / heat.max() if heat.max() > 0 else heat


def render(image: np.ndarray, heat: np.ndarray) -> Image.Image:
    """Side by side: the 28x28 image the model saw, and it dimmed with the map in red on top."""
    gray = np.repeat(image[..., None].astype(np.float64), 3, axis=2)  # (28, 28) -> (28, 28, 3)
    overlay = gray * 0.5
    overlay[..., 0] += heat * 255 * 0.5
    overlay[..., 1] += heat ** 2 * 255 * 0.3  # strongest spots turn towards yellow
    panels = np.concatenate([gray, overlay], axis=1)  # (28, 56, 3)
    picture = Image.fromarray(np.clip(np.rint(panels), 0, 255).astype(np.uint8))
    return picture.resize((picture.width * ZOOM, picture.height * ZOOM), Image.Resampling.NEAREST)


def saliency_path(image_path: Path) -> Path:
    return image_path.with_name(f"{image_path.name}.saliency.png")  # shoe.jpg -> shoe.jpg.saliency.png


def save_explanation(path: Path, image: np.ndarray, heat: np.ndarray) -> None:
    try:
        with atomic_path(path) as tmp:
            render(image, heat).save(tmp, format="PNG")
    except OSError as exc:  # e.g. the image's folder is read-only
        raise CnnLstmError(f"{path}: cannot save the saliency map ({exc.strerror or exc})") from None
