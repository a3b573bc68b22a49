"""The occlusion map points at the pixels a prediction depends on."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import torch
from PIL import Image

from cnnlstm.prediction.explain import occlusion_map, saliency_figure, saliency_path, save_explanation


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
    save_explanation(target, np.zeros((28, 28), np.uint8), np.zeros((28, 28)), "Shirt", 0.5, "tiny")
    with Image.open(target) as picture:
        assert picture.format == "PNG" and picture.size == (720, 390)


def test_saliency_figure_names_class_probability_and_has_a_colour_bar() -> None:
    image = np.full((28, 28), 200, dtype=np.uint8)
    heat = occlusion_map(top_left_detector, image, target=0)
    fig = saliency_figure(image, heat, "Ankle boot", 0.9731, "cnn32")
    assert fig.get_suptitle() == "Ankle boot: 97.3%  (cnn32)"
    colour_bar = fig.axes[-1]  # the colour bar is the figure's last axes
    assert "p(Ankle boot)" in colour_bar.get_ylabel() and colour_bar.get_ylim() == (0.0, 1.0)


def test_saliency_png_bytes_are_deterministic(tmp_path: Path) -> None:
    heat = np.linspace(0, 1, 28 * 28).reshape(28, 28)
    for name in ("a.png", "b.png"):
        save_explanation(tmp_path / name, np.zeros((28, 28), np.uint8), heat, "Bag", 0.8, "tiny")
    assert (tmp_path / "a.png").read_bytes() == (tmp_path / "b.png").read_bytes()
