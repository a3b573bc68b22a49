"""`--explain`: an occlusion map of which pixels the prediction rests on, saved as a PNG.

Occlusion needs forward passes only (no gradients), so it works for every model family on every
device, cuDNN LSTMs included, whose backward pass refuses to run in eval mode.
"""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path

import numpy as np
import torch
from matplotlib.backends.backend_agg import FigureCanvasAgg
from matplotlib.figure import Figure

from cnnlstm.core.atomic import atomic_path
from cnnlstm.core.errors import CnnLstmError

PATCH = 6  # pixels blacked out at a time: about the width of a sleeve or a heel
STRIDE = 2  # 12 x 12 = 144 occluded copies per image
DPI = 100


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


def saliency_figure(image: np.ndarray, heat: np.ndarray, class_name: str, probability: float, model: str) -> Figure:
    """Side by side: the 28x28 image the model saw, and the occlusion map over it with a colour
    bar; titled with the predicted class, its probability and the model."""
    # Figure without pyplot: no global backend or figure registry is touched by a library call.
    fig = Figure(figsize=(7.2, 3.9), dpi=DPI, layout="constrained")
    left, right = fig.subplots(1, 2)
    left.imshow(image, cmap="gray", vmin=0, vmax=255)
    left.set_title("model input (28x28)", fontsize=9)
    right.imshow(image, cmap="gray", vmin=0, vmax=255)
    # Opacity follows the map: the garment shows through where hiding a patch changes nothing.
    overlay = right.imshow(heat, cmap="inferno", vmin=0, vmax=1, alpha=np.clip(heat, 0, 1) * 0.85)
    right.set_title("occlusion map", fontsize=9)
    for ax in (left, right):
        ax.set(xticks=[], yticks=[])
    fig.colorbar(overlay, ax=right, label=f"drop of p({class_name}) when hidden\n(1 = largest drop)")
    fig.suptitle(f"{class_name}: {probability:.1%}  ({model})", fontweight="bold")
    return fig


def saliency_path(image_path: Path) -> Path:
    return image_path.with_name(f"{image_path.name}.saliency.png")  # shoe.jpg -> shoe.jpg.saliency.png


def save_explanation(
    path: Path, image: np.ndarray, heat: np.ndarray, class_name: str, probability: float, model: str
) -> None:
    """The saliency PNG of one image: `class_name` predicted with `probability` by `model`."""
    fig = saliency_figure(image, heat, class_name, probability, model)
    try:
        with atomic_path(path) as tmp:
            FigureCanvasAgg(fig).print_png(tmp, metadata={"Software": None})  # same map, same bytes
    except OSError as exc:  # e.g. the image's folder is read-only
        raise CnnLstmError(f"{path}: cannot save the saliency map ({exc.strerror or exc})") from None
