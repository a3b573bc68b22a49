"""Model builders by family name: the torch half of the registry (configs live in configs.py)."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import torch
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
    """A freshly initialised model of `family` (a name from configs.FAMILIES).

    Channels-last weights make CPU convolutions and max-pooling 1.1-1.8x faster (bench/README.md);
    state dicts stay interchangeable with the default layout."""
    return BUILDERS[family](config).to(memory_format=torch.channels_last)
