"""What every model of the study shares: input normalisation, a feature body, a linear head."""

from __future__ import annotations

import torch
from torch import nn

from cnnlstm.core.params import NUM_CLASSES


class Classifier(nn.Module):
    """`body` maps normalised (B, 1, 28, 28) images to (B, feature_dim) features; a linear layer
    maps those to logits. The features are what t-SNE shows (the penultimate layer)."""

    def __init__(self, body: nn.Module, feature_dim: int) -> None:
        super().__init__()
        # Normalisation statistics of the fold's training part; set before training, saved with it.
        self.register_buffer("pixel_mean", torch.tensor(0.0))
        self.register_buffer("pixel_std", torch.tensor(1.0))
        self.body = body
        self.head = nn.Linear(feature_dim, NUM_CLASSES)

    def features(self, x: torch.Tensor) -> torch.Tensor:
        """(B, 1, 28, 28) pixels in [0, 1] -> (B, feature_dim)."""
        return self.body((x - self.pixel_mean) / self.pixel_std)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self.head(self.features(x))  # (B, 10) logits
