"""The validation pass that selects the epoch, and the checks that a run trained at all."""

from __future__ import annotations

import math

import torch
import torch.nn.functional as F
from torch import nn

from cnnlstm.core.errors import CnnLstmError
from cnnlstm.core.inference import predict_logits
from cnnlstm.core.runtime import Runtime


def validate(
    model: nn.Module, images: torch.Tensor, labels: torch.Tensor, index: torch.Tensor, runtime: Runtime
) -> tuple[float, float]:
    """(loss, accuracy) on the validation slice, in eval mode."""
    logits = predict_logits(model, images[index.to(images.device)], runtime)
    y = labels[index.to(labels.device)].cpu()
    return F.cross_entropy(logits, y).item(), (logits.argmax(1) == y).float().mean().item()


# Cross-entropy of uniform scores over 10 classes is ln 10 = 2.30 (label smoothing only lowers
# the floor): an epoch's mean ten times that is logits blown up, not a slow start.
UNIFORM_LOSS = math.log(10)
EXPLODED_LOSS = 10 * UNIFORM_LOSS
# Chance is 0.10 on the stratified validation slice (what a constant model scores). Twice chance is
# the floor: the weakest smoke-profile run (1 epoch on 570 images, 30 validated) scores 0.27, and a
# model guessing at random passes 0.2 on those 30 images with probability 0.026 (binomial).
CHANCE_ACCURACY = 0.2


def check_loss(loss: float, label: str, epoch: int) -> None:
    """A non-finite or exploded epoch loss is an error: the run diverged."""
    if not math.isfinite(loss) or loss > EXPLODED_LOSS:
        raise CnnLstmError(
            f"{label}: diverged in epoch {epoch + 1}: training loss {loss:.6g} "
            f"(uniform guessing scores {UNIFORM_LOSS:.2f}); lower train.lr"
        )


def check_learned(best_val_acc: float, label: str, best_epoch: int) -> None:
    """A run whose best validation accuracy is at chance level is an error, not a model."""
    if not best_val_acc > CHANCE_ACCURACY:
        raise CnnLstmError(
            f"{label}: ended at chance level: best validation accuracy {best_val_acc:.4f} "
            f"(epoch {best_epoch}) <= {CHANCE_ACCURACY}; check train.lr and the data"
        )
