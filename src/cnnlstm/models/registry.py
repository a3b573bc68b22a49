"""Model builders by family name: the torch half of the registry (configs live in configs.py)."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from torch import nn

from cnnlstm.models.cnn import build_cnn
from cnnlstm.models.cnn_lstm import build_cnn_lstm
from cnnlstm.models.row_lstm import build_row_lstm
from cnnlstm.models.sequencer import build_sequencer

BUILDERS: dict[str, Callable[[Any], nn.Module]] = {
    "cnn": build_cnn,
    "lstm": build_row_lstm,
    "cnn_lstm": build_cnn_lstm,
    "sequencer": build_sequencer,
}


def build_model(family: str, config: Any) -> nn.Module:
    """A freshly initialised model of `family` (a name from configs.FAMILIES)."""
    return BUILDERS[family](config)
