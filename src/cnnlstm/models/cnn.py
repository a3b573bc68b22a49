"""The CNN baselines (cnn16, cnn32)."""

from __future__ import annotations

from torch import nn

from cnnlstm.models.base import Classifier
from cnnlstm.models.blocks import conv_stage
from cnnlstm.core.model_configs import CNNConfig


def build_cnn(config: CNNConfig) -> Classifier:
    side = 28 // 2 ** len(config.channels)
    body = nn.Sequential(
        conv_stage(1, config.channels, (3, 3), (2, 2)),  # (B, 1, 28, 28) -> (B, C, side, side)
        nn.Flatten(),  # -> (B, C * side * side)
        nn.Linear(config.channels[-1] * side * side, config.hidden),
        nn.ReLU(inplace=True),
        nn.Dropout(config.dropout),
    )
    return Classifier(body, config.hidden)
