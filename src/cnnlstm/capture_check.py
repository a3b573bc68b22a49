"""Replaying a captured CUDA training graph with the host-sync check on (bench/capture_smoke.py and
tests/test_cuda.py).

It sits outside training/ on purpose: that folder is a DVC dependency of every training run, so an
edit there changes every run's run-cache key and a study in progress would retrain from scratch.
"""

from __future__ import annotations

import torch


def replay_epoch_without_syncs(trainer, seed: int) -> None:
    """Replay one epoch of `trainer`'s captured graph with CUDA's sync debug mode at "error": a kernel
    that syncs with the host inside it (invisible to training.graph_safety.NoHostReads) raises."""
    torch.cuda.set_sync_debug_mode("error")
    try:
        trainer.new_epoch(seed)
        for _ in range(trainer.steps_per_epoch):
            trainer.graph.replay()
    finally:
        torch.cuda.set_sync_debug_mode("default")
