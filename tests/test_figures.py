"""Figures on tiny synthetic data: confusion percentages never show a non-zero cell as 0, the proposed
model stands out, and the same figure gives the same bytes."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pandas as pd
import pytest
from PIL import Image

from cnnlstm.data.fashion_mnist import CLASSES
from cnnlstm.figures import figures

PROPOSED = "hybrid"
LABEL = "hybrid (proposed: CNN 32-32 3x3 → BiLSTM 128)"


@pytest.mark.parametrize(
    ("percent", "text"),
    [(0.0, ""), (0.01, "<0.1"), (0.049, "<0.1"), (0.05, "0.1"), (0.5, "0.5"), (12.34, "12.3"), (100.0, "100.0")],
)
def test_percent_text_never_shows_a_nonzero_cell_as_zero(percent: float, text: str) -> None:
    assert figures.percent_text(percent) == text


def confusion_frame(models: list[str]) -> pd.DataFrame:
    """Row-normalised confusion rates: 90% on the diagonal, the rest spread with one tiny cell."""
    rates = np.full((10, 10), 0.1 / 9)
    np.fill_diagonal(rates, 0.9)
    rates[0, 1], rates[0, 2] = 0.0004, rates[0, 2] + rates[0, 1] - 0.0004  # the row still sums to 1
    actual, predicted = np.meshgrid(CLASSES, CLASSES, indexing="ij")
    return pd.concat([pd.DataFrame({"model": m, "actual": actual.ravel(), "predicted": predicted.ravel(),
                                    "rate": rates.ravel()}) for m in models], ignore_index=True)


def styles(models: list[str]) -> figures.ModelStyles:
    return figures.model_styles(models, {m: LABEL if m == PROPOSED else m for m in models}, PROPOSED)


def test_confusion_figure_shows_percent_cells_and_a_percent_colour_bar(tmp_path: Path) -> None:
    fig = figures.confusion_figure(confusion_frame(["cnn"]), "cnn")
    texts = {t.get_text() for t in fig.axes[0].texts}
    assert {"90.0", "<0.1", "1.1"} <= texts and "0" not in texts and "0.0" not in texts
    assert "%" in fig.axes[-1].get_ylabel()  # the colour bar: percent, like the cells
    figures.save(fig, tmp_path / "confusion.png")
    with Image.open(tmp_path / "confusion.png") as image:
        assert image.format == "PNG" and min(image.size) > 600


def test_proposed_model_stands_out_in_comparison_figures() -> None:
    models = ["cnn", PROPOSED]
    s = styles(models)
    curves = pd.DataFrame({"model": np.repeat(models, 2), "epoch": [1, 2] * 2, "mean": [0.8, 0.9] * 2,
                           "lower": [0.79, 0.89] * 2, "upper": [0.81, 0.91] * 2})
    fig = figures.learning_curves_figure(curves, s)
    lines = {line.get_label(): line for line in fig.axes[0].get_lines()}
    assert lines[LABEL].get_linewidth() > lines["cnn"].get_linewidth() and lines[LABEL].get_marker() == "*"
    legend = {t.get_text(): t.get_fontweight() for t in fig.axes[0].get_legend().get_texts()}
    assert legend == {"cnn": "normal", LABEL: "bold"}
    cost = pd.DataFrame({"model": models, "accuracy": [0.9, 0.91], "accuracy_std": [0.01, 0.01],
                         "params": [1e5, 2e5], "flops_per_image": [1e6, 2e6], "train_seconds": [10.0, 20.0]})
    fig = figures.cost_figure(cost, s)
    assert {t.get_text(): t.get_fontweight() for t in fig.legends[0].get_texts()} == {"cnn": "normal", LABEL: "bold"}


def test_figure_bytes_are_deterministic(tmp_path: Path) -> None:
    models = ["cnn", PROPOSED]
    for name in ("a.png", "b.png"):
        figures.save(figures.confusion_figure(confusion_frame(models).query("model == 'cnn'"), "cnn"), tmp_path / name)
    assert (tmp_path / "a.png").read_bytes() == (tmp_path / "b.png").read_bytes()
