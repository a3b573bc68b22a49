"""Beyond the proposal: a CNN stem followed by Sequencer2D blocks (BiLSTM2D over rows and columns)."""

from __future__ import annotations

import torch
from torch import nn

from cnnlstm.models.base import Classifier
from cnnlstm.models.blocks import conv_stage
from cnnlstm.core.model_configs import SequencerConfig


class BiLSTM2D(nn.Module):
    """Bidirectional LSTMs along the height and the width of a (B, H, W, C) map, fused linearly."""

    def __init__(self, channels: int, hidden: int) -> None:
        super().__init__()
        self.vertical = nn.LSTM(channels, hidden, batch_first=True, bidirectional=True)
        self.horizontal = nn.LSTM(channels, hidden, batch_first=True, bidirectional=True)
        self.fuse = nn.Linear(4 * hidden, channels)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        b, h, w, c = x.shape
        columns = x.permute(0, 2, 1, 3).flatten(0, 1)  # (B, H, W, C) -> (B*W, H, C)
        vertical, _ = self.vertical(columns)  # (B*W, H, 2h)
        vertical = vertical.unflatten(0, (b, w)).permute(0, 2, 1, 3)  # -> (B, H, W, 2h)
        rows = x.flatten(0, 1)  # (B, H, W, C) -> (B*H, W, C)
        horizontal, _ = self.horizontal(rows)  # (B*H, W, 2h)
        horizontal = horizontal.unflatten(0, (b, h))  # -> (B, H, W, 2h)
        return self.fuse(torch.cat([vertical, horizontal], dim=-1))  # (B, H, W, C)


class Sequencer2DBlock(nn.Module):
    def __init__(self, channels: int, hidden: int, mlp_ratio: int) -> None:
        super().__init__()
        self.norm1 = nn.LayerNorm(channels)
        self.mix = BiLSTM2D(channels, hidden)
        self.norm2 = nn.LayerNorm(channels)
        self.mlp = nn.Sequential(
            nn.Linear(channels, mlp_ratio * channels), nn.GELU(), nn.Linear(mlp_ratio * channels, channels)
        )

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        x = x + self.mix(self.norm1(x))
        return x + self.mlp(self.norm2(x))


class SequencerBody(nn.Module):
    def __init__(self, config: SequencerConfig) -> None:
        super().__init__()
        self.conv = conv_stage(1, config.channels, (3, 3), (2, 2))
        width = config.channels[-1]
        self.blocks = nn.Sequential(
            *[Sequencer2DBlock(width, config.hidden, config.mlp_ratio) for _ in range(config.blocks)]
        )
        self.norm = nn.LayerNorm(width)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        maps = self.conv(x).permute(0, 2, 3, 1)  # (B, C, H, W) -> (B, H, W, C)
        return self.norm(self.blocks(maps)).mean(dim=(1, 2))  # -> (B, C), averaged over positions


def build_sequencer(config: SequencerConfig) -> Classifier:
    return Classifier(SequencerBody(config), config.channels[-1])
