"""One side of the step comparison (bench/compare.py): trains what it is told to with the code of
the tree on its PYTHONPATH, and answers with the images trained. One JSON object per line on stdin,
one JSON line per command on stdout; nothing else is printed there.

    {"raw": ..., "threads": N, "train": {...TrainParams...}}   first line: load the data once
    {"model": name, "spec": {...}, "precision": "bf16", "batches": n}   -> {"images": k}
    {"model": ..., "spec": ..., "precision": ..., "traffic": true}      -> {"bytes": b} of one step
"""

from __future__ import annotations

import importlib.util
import json
import sys
from pathlib import Path

import torch

import measure  # this script's folder, bench/, comes first on sys.path

from cnnlstm.core.model_configs import parse_config
from cnnlstm.core.params import TrainParams, from_dict
from cnnlstm.core.runtime import resolve_runtime
from cnnlstm.data.fashion_mnist import load_split
from cnnlstm.models.registry import build_model


def base_training(model, images, labels, train: TrainParams, runtime) -> measure.Run:
    """The per-batch loop of a tree from before training/step.py (the base of the comparison):
    its own `train_one_epoch` with torch's AdamW and OneCycleLR, on `batches` batches."""
    from cnnlstm.training.loop import train_one_epoch
    from cnnlstm.training.progress import Progress
    from cnnlstm.training.run import make_optimizer

    model.to(runtime.device).train()

    def run(batches: int) -> int:
        optimizer, scheduler = make_optimizer(model, train, batches)
        index = torch.arange(batches * train.batch_size) % len(images)
        train_one_epoch(model, images, labels, index, optimizer, scheduler, train, runtime,
                        torch.Generator().manual_seed(0), Progress("bench", 1))
        return batches * train.batch_size

    return run


def tree_training(model, images, labels, train: TrainParams, runtime) -> measure.Run:
    """This tree's training step: the one step where the tree has it, else the old loop."""
    if importlib.util.find_spec("cnnlstm.training.step") is not None:
        return measure.our_training(model, images, labels, train, runtime)
    return base_training(model, images, labels, train, runtime)


def main() -> None:
    setup = json.loads(sys.stdin.readline())
    train = from_dict(TrainParams, setup["train"], "bench/config.yaml: step")
    split = load_split(Path(setup["raw"]), "train")
    images, labels = torch.tensor(split.images), torch.tensor(split.labels)
    current: tuple[tuple[str, str], measure.Run] | None = None
    for line in sys.stdin:
        command = json.loads(line)
        key = (command["model"], command["precision"])
        if current is None or current[0] != key:
            runtime = resolve_runtime("cpu", command["precision"], setup["threads"])
            torch.manual_seed(0)  # both sides start from the same weights
            model = build_model(*parse_config(command["spec"], command["model"]))
            current = key, tree_training(model, images, labels, train, runtime)
        run = current[1]
        answer = {"bytes": measure.traffic(lambda: run(1))} if command.get("traffic") else {"images": run(command["batches"])}
        print(json.dumps(answer), flush=True)


if __name__ == "__main__":
    main()
