"""The one place every colour and marker of the study's figures comes from (matplotlib figures and the
`dvc plots` templates in .dvc/plots/, which figures/vega_templates.py writes from it).

A model keeps its colour and marker in every figure, whatever subset of models a figure shows; the
proposed model (params `model.name`, whatever it is called) is always red with a star and a thick
line, so it stands out the same way everywhere. No params: the budget and seed stages read none.
"""

from __future__ import annotations

import zlib
from typing import NamedTuple

PROPOSED_COLOR = "#d62728"  # red: used for the proposed model only
PROPOSED_MARKER = "*"
NEUTRAL = "#7f7f7f"         # reference lines: chance, zero difference
BAND = "#bdbdbd"            # the ±margin band of equivalence
CONFUSION_CMAP = "Blues"    # confusion matrices (a sequential scale, not a model colour)
CELL_TEXT = ("black", "white")  # a confusion cell's number on a light / dark cell

# tab10 without its red; the CNNs blue/cyan, the hybrids warm/green/purple, the row-LSTM olive.
MODEL_COLORS = {
    "cnn16": "#aec7e8",
    "cnn32": "#1f77b4",
    "cnn32_wide": "#17becf",
    "lstm": "#bcbd22",
    "cnn16_lstm": "#ffbb78",
    "cnn32_lstm": "#ff7f0e",
    "cnn32_bilstm": "#2ca02c",
    "cnn32_lstm128x64": "#9467bd",
    "cnn32_lstm_1xk": "#8c564b",
    "cnn32_bilstm2d": "#e377c2",
}
SPARE_COLORS = ("#98df8a", "#c5b0d5", "#c49c94", "#f7b6d2", "#dbdb8d", "#9edae5", "#393b79", "#637939")
# Marker by kind: plain CNNs circles, CNN+LSTM hybrids squares, the row-LSTM a triangle, BiLSTM2D a diamond.
MODEL_MARKERS = {"cnn16": "o", "cnn32": "o", "cnn32_wide": "o", "lstm": "^", "cnn32_bilstm2d": "D"}
HYBRID_MARKER = "s"
# Vega-lite's names for the same shapes (the `dvc plots` templates).
VEGA_SHAPES = {"o": "circle", "s": "square", "^": "triangle-up", "D": "diamond", "*": "cross"}

# The ten Fashion-MNIST classes (ROC per class, t-SNE): tab10 in class order.
CLASS_COLORS = ("#1f77b4", "#ff7f0e", "#2ca02c", "#d62728", "#9467bd",
                "#8c564b", "#e377c2", "#7f7f7f", "#bcbd22", "#17becf")
SEED_MARKERS = "osD^v<>ph"  # one per training seed in the seed figure


class Style(NamedTuple):
    color: str
    marker: str
    proposed: bool


def style(name: str, proposed: str) -> Style:
    """Model `name`'s colour and marker; `proposed`: the proposed model's name."""
    if name == proposed:
        return Style(PROPOSED_COLOR, PROPOSED_MARKER, True)
    # A model the table does not know gets a spare colour chosen by its name: stable across figures.
    color = MODEL_COLORS.get(name) or SPARE_COLORS[zlib.crc32(name.encode()) % len(SPARE_COLORS)]
    return Style(color, MODEL_MARKERS.get(name, HYBRID_MARKER), False)


def all_colors() -> set[str]:
    """Every colour a figure may use (the palette test checks figures against it)."""
    return {PROPOSED_COLOR, NEUTRAL, BAND, *CELL_TEXT, *MODEL_COLORS.values(), *SPARE_COLORS, *CLASS_COLORS}
