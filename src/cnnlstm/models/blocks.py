"""Building blocks: convolution stages and recurrent readers of sequences."""

from __future__ import annotations

import torch
from torch import nn


def conv_stage(in_channels: int, channels: tuple[int, ...], kernel: tuple[int, int], pool: tuple[int, int]) -> nn.Sequential:
    """One conv -> BatchNorm -> ReLU -> max-pool block per entry of `channels`.

    The block pools before its ReLU: max-pooling and ReLU commute (both are monotone), so the
    function and its gradients are the same, and the ReLU and its backward touch a quarter of the
    elements (bench/README.md). ReLU and pooling hold no parameters, so the state_dict keys
    (conv `k`, BatchNorm `k + 1`) are those of the conv -> BN -> ReLU -> pool order."""
    layers: list[nn.Module] = []
    padding = (kernel[0] // 2, kernel[1] // 2)
    for out_channels in channels:
        layers += [
            nn.Conv2d(in_channels, out_channels, kernel, padding=padding, bias=False),
            nn.BatchNorm2d(out_channels),
            nn.MaxPool2d(pool),
            nn.ReLU(inplace=True),
        ]
        in_channels = out_channels
    return nn.Sequential(*layers)


class SequenceReader(nn.Module):
    """Stacked recurrent layers over (B, T, F) steps, read out as (B, out_dim).

    Layers are separate modules so that stacked layers may have different widths.
    """

    def __init__(
        self, input_dim: int, hidden: tuple[int, ...], bidirectional: bool, cell: str, readout: str
    ) -> None:
        super().__init__()
        rnn = {"lstm": nn.LSTM, "gru": nn.GRU}[cell]
        directions = 2 if bidirectional else 1
        self.layers = nn.ModuleList()
        for width in hidden:
            self.layers.append(rnn(input_dim, width, batch_first=True, bidirectional=bidirectional))
            input_dim = width * directions
        self.readout = readout
        self.out_dim = input_dim

    def forward(self, steps: torch.Tensor) -> torch.Tensor:
        for layer in self.layers:
            steps, _ = layer(steps)  # (B, T, F) -> (B, T, H * directions)
        if self.readout == "mean":
            return steps.mean(dim=1)
        # For a bidirectional layer the backward half has read the whole sequence at step 0.
        if self.layers[-1].bidirectional:
            half = steps.shape[-1] // 2
            return torch.cat([steps[:, -1, :half], steps[:, 0, half:]], dim=1)
        return steps[:, -1]
