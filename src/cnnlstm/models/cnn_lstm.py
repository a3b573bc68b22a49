"""The proposal's hybrid: CNN feature-map rows read by an LSTM as time steps."""

from __future__ import annotations

import torch
from torch import nn

from cnnlstm.models.base import Classifier
from cnnlstm.models.blocks import SequenceReader, conv_stage
from cnnlstm.core.model_configs import CNNLSTMConfig


class ConvRowReader(nn.Module):
    def __init__(self, config: CNNLSTMConfig) -> None:
        super().__init__()
        kernel = (3, 3) if config.kernel == "3x3" else (1, config.kernel_width)
        pool = (2, 2) if config.pool == "both" else (1, 2)
        self.conv = conv_stage(1, config.channels, kernel, pool)
        rows, width = 28, 28
        for _ in config.channels:
            rows, width = rows // pool[0], width // pool[1]
        self.rows = rows
        step_dim = config.channels[-1] * width
        self.reader = SequenceReader(step_dim, config.hidden, config.bidirectional, config.cell, config.readout)

    def time_steps(self, x: torch.Tensor) -> torch.Tensor:
        """(B, 1, 28, 28) -> (B, T rows, C * W): one time step per feature-map row."""
        maps = self.conv(x)  # (B, C, T, W)
        return maps.permute(0, 2, 1, 3).flatten(2)  # (B, C, T, W) -> (B, T, C, W) -> (B, T, C*W)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self.reader(self.time_steps(x))


def build_cnn_lstm(config: CNNLSTMConfig) -> Classifier:
    body = ConvRowReader(config)
    return Classifier(body, body.reader.out_dim)
