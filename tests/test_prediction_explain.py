"""The occlusion map points at the pixels a prediction depends on."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import torch
from PIL import Image

from cnnlstm.prediction.explain import occlusion_map, saliency_path, save_explanation


def top_left_detector(images: torch.Tensor) -> torch.Tensor:
    """A stand-in model: class 0's probability is the brightness of the top-left 8x8 corner."""
    corner = images[:, :8, :8].float().mean(dim=(1, 2)) / 255  # (N,)
    return torch.stack([corner, 1 - corner], dim=1)  # (N, 2)


def test_map_highlights_the_pixels_the_class_rests_on() -> None:
    image = np.full((28, 28), 200, dtype=np.uint8)
    heat = occlusion_map(top_left_detector, image, target=0)
    assert heat.shape == (28, 28) and heat.max() == 1.0
    assert heat[:6, :6].mean() > 0.5 and heat[14:, 14:].max() == 0.0


def test_explanation_png_is_saved_beside_the_image(tmp_path: Path) -> None:
    target = saliency_path(tmp_path / "shoe.jpg")
    assert target == tmp_path / "shoe.jpg.saliency.png"
    save_explanation(target, np.zeros((28, 28), np.uint8), np.zeros((28, 28)))
    with Image.open(target) as picture:
        assert picture.format == "PNG" and picture.size == (448, 224)
