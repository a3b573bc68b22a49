"""The pure row-LSTM reference: each image row is one time step."""

from __future__ import annotations

import torch
from torch import nn

from cnnlstm.models.base import Classifier
from cnnlstm.models.blocks import SequenceReader
from cnnlstm.core.model_configs import RowLSTMConfig


class RowReader(nn.Module):
    def __init__(self, config: RowLSTMConfig) -> None:
        super().__init__()
        self.reader = SequenceReader(28, config.hidden, config.bidirectional, config.cell, config.readout)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self.reader(x.flatten(1, 2))  # (B, 1, 28, 28) -> (B, 28 rows, 28 pixels)


def build_row_lstm(config: RowLSTMConfig) -> Classifier:
    body = RowReader(config)
    return Classifier(body, body.reader.out_dim)
