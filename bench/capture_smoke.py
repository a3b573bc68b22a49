"""Seconds-long check that the training step captures and replays on this GPU, before any long work.

    python bench/capture_smoke.py            # CUDA: capture cnn32_lstm's step, replay an epoch, no sync
    python bench/capture_smoke.py --cpu      # dry run: the same step eagerly under the host-read guard

Prints one line and exits 0 when the captured epoch's loss matches the eager one (bf16 tolerance)
and no replay synchronised with the host; a failure is one line and exit 1.
"""

from __future__ import annotations

import argparse
import dataclasses
import math
import time

import torch

from cnnlstm.capture_check import replay_epoch_without_syncs
from cnnlstm.core.errors import CnnLstmError, exit_on_error
from cnnlstm.core.params import load_params
from cnnlstm.core.runtime import resolve_runtime
from cnnlstm.models.registry import build_model
from cnnlstm.training.graph_safety import NoHostReads
from cnnlstm.training.progress import Progress
from cnnlstm.training.step import TrainStep, train_one_epoch

IMAGES, BATCH = 4096, 128


def epoch_loss(params, runtime, images, labels, capture: bool) -> tuple[float, TrainStep]:
    tp = dataclasses.replace(params.train, batch_size=BATCH, cuda_graphs=capture,
                             augment=dataclasses.replace(params.train.augment, crop_padding=2, hflip=True, erasing=0.25))
    torch.manual_seed(0)
    model = build_model(*params.configs[params.model["name"]]).to(runtime.device)
    trainer = TrainStep(model, images, labels, torch.arange(len(images)), tp, runtime, len(images) // BATCH)
    torch.manual_seed(1)
    loss, _ = train_one_epoch(trainer, 1, Progress("smoke", 1))
    return loss, trainer


@exit_on_error
def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--cpu", action="store_true")
    args = parser.parse_args()
    started = time.perf_counter()
    params = load_params()
    runtime = resolve_runtime("cpu" if args.cpu else "cuda", "auto")
    images = torch.randint(0, 256, (IMAGES // (8 if args.cpu else 1), 28, 28), dtype=torch.uint8, device=runtime.device)
    labels = torch.randint(0, 10, (len(images),), device=runtime.device)
    if args.cpu:
        _, trainer = epoch_loss(params, runtime, images, labels, capture=False)
        trainer.new_epoch(2)
        with NoHostReads():
            trainer.step()
        print(f"capture smoke (CPU dry run): {trainer.steps_per_epoch} eager steps, one under the host-read guard, "
              f"{time.perf_counter() - started:.1f} s")
        return
    eager, _ = epoch_loss(params, runtime, images, labels, capture=False)
    captured, trainer = epoch_loss(params, runtime, images, labels, capture=True)
    replay_epoch_without_syncs(trainer, 2)
    if not math.isclose(captured, eager, rel_tol=2e-2):
        raise CnnLstmError(f"capture smoke: captured epoch loss {captured:.4f} != eager {eager:.4f}")
    print(f"capture smoke OK on {torch.cuda.get_device_name()}: loss eager {eager:.4f} captured {captured:.4f}, "
          f"{trainer.steps_per_epoch} replays without a sync, {time.perf_counter() - started:.1f} s")


if __name__ == "__main__":
    main()
