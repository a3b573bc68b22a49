"""Train one model on one fold: the whole run, top to bottom, resumable from any epoch."""

from __future__ import annotations

import copy
import dataclasses
import hashlib
import json
import sys
from pathlib import Path
from typing import Any

import numpy as np
import torch
from dvclive import Live

from cnnlstm.core.atomic import write_json
from cnnlstm.core.errors import CnnLstmError
from cnnlstm.models.checkpoint import load_torch, save_model, save_torch
from cnnlstm.data.fashion_mnist import load_split
from cnnlstm.data.folds import file_sha256, fold_indices, load_folds
from cnnlstm.models.registry import build_model
from cnnlstm.core.params import Params
from cnnlstm.core.runtime import hardware_name, resolve_runtime
from cnnlstm.training.holdout import stratified_holdout
from cnnlstm.training.loop import check_learned, check_loss, validate
from cnnlstm.training.precision import rnn_dtype
from cnnlstm.training.step import TrainStep, step_kind, train_one_epoch
from cnnlstm.training.progress import Progress
from cnnlstm.training.seeding import derive_seed, seed_everything


@dataclasses.dataclass(frozen=True)
class RunPaths:
    raw_dir: Path  # data/raw
    folds: Path  # data/folds.npy
    model_file: Path  # final weights (the selected epoch)
    log_dir: Path  # dvclive folder
    checkpoint: Path  # resume state, outside DVC's outputs (DVC deletes outputs before a rerun)


def _fingerprint(*parts: Any) -> str:
    """Identifies what a checkpoint was made from: a checkpoint of other settings is not resumed."""
    return hashlib.sha256(json.dumps(parts, sort_keys=True, default=str).encode()).hexdigest()


def train_run(params: Params, name: str, fold: int, paths: RunPaths) -> dict[str, Any]:
    """Train model `name` on every fold but `fold`; select the epoch on a validation slice of
    that training part; write the selected weights, the dvclive log and a run summary."""
    family, config = params.configs[name]
    tp = params.train
    runtime = resolve_runtime(tp.device, tp.precision, tp.threads)
    data = load_split(paths.raw_dir, "train")
    assignment = load_folds(paths.folds, len(data.labels))
    folds_sha = file_sha256(paths.folds)
    train_idx, _ = fold_indices(assignment, fold)

    seed = derive_seed(tp.seed, name, fold)
    fit_idx, val_idx = stratified_holdout(train_idx, data.labels[train_idx], tp.val_fraction, seed)
    seed_everything(seed)
    model = build_model(family, config)
    fit_pixels = data.images[fit_idx].astype(np.float32) / 255
    model.pixel_mean.fill_(float(fit_pixels.mean()))
    model.pixel_std.fill_(float(fit_pixels.std()))
    model.to(runtime.device)

    images = torch.from_numpy(data.images).to(runtime.device)  # resident: (N, 28, 28) uint8
    labels = torch.from_numpy(data.labels).to(runtime.device)
    fit_index, val_index = torch.from_numpy(fit_idx), torch.from_numpy(val_idx)  # sorted
    steps_per_epoch = len(fit_index) // tp.batch_size
    kind = step_kind(tp, runtime)
    trainer = TrainStep(model, images, labels, fit_index, tp, runtime, steps_per_epoch * tp.epochs)

    fingerprint = _fingerprint(family, dataclasses.asdict(config), dataclasses.asdict(tp), folds_sha, fold, kind)
    state = _resume(paths.checkpoint, fingerprint, model, trainer)
    label = f"{name} fold {fold}"
    progress = Progress(label, tp.epochs)
    with Live(str(paths.log_dir), dvcyaml=False, save_dvc_exp=False, report=None) as live:
        for record in state["history"]:  # a resumed run's log starts with the epochs already done
            _log(live, record)
        for epoch in range(len(state["history"]), tp.epochs):
            generator = seed_everything(derive_seed(seed, "epoch", epoch))
            lr = trainer.last_lr()
            progress.start_epoch(epoch, steps_per_epoch)
            train_loss, seconds = train_one_epoch(trainer, generator.initial_seed(), progress)
            check_loss(train_loss, label, epoch)
            val_loss, val_acc = validate(model, images, labels, val_index, runtime)
            record = {
                "epoch": epoch + 1, "train_loss": train_loss, "val_loss": val_loss, "val_acc": val_acc,
                "lr": lr, "epoch_seconds": seconds, "images_per_s": steps_per_epoch * tp.batch_size / seconds,
            }
            state["history"].append(record)
            if val_acc > state["best_val_acc"]:
                state.update(best_val_acc=val_acc, best_epoch=epoch + 1, best_state=copy.deepcopy(model.state_dict()))
            _log(live, record)
            progress.end_epoch(epoch, record)
            _save_checkpoint(paths.checkpoint, fingerprint, state, model, trainer)

    check_learned(state["best_val_acc"], label, state["best_epoch"] or tp.epochs)  # before anything is written
    model.load_state_dict(state["best_state"])
    summary = {
        "model": name, "fold": fold, "seed": seed, "folds_sha256": folds_sha,
        "best_epoch": state["best_epoch"], "best_val_acc": state["best_val_acc"], "epochs": tp.epochs,
        "train_seconds": sum(r["epoch_seconds"] for r in state["history"]),
        "device": runtime.device.type, "hardware": hardware_name(runtime.device), "threads": torch.get_num_threads(),
        "amp": str(runtime.amp_dtype).removeprefix("torch.") if runtime.amp_dtype else "fp32",
        "train_images": len(fit_index), "val_images": len(val_index),
        "step": kind, "layer_dtypes": trainer.layer_dtypes, "rnn_dtype": rnn_dtype(trainer.layer_dtypes, model),
        "batch_size": tp.batch_size, "lr": tp.lr, "augment": dataclasses.asdict(tp.augment),
    }
    write_json(paths.log_dir / "run.json", summary)
    save_model(paths.model_file, name, family, config, model.cpu(), fold=fold, folds_sha256=folds_sha,
               best_epoch=state["best_epoch"])
    paths.checkpoint.unlink(missing_ok=True)
    return summary


def _log(live: Live, record: dict[str, float]) -> None:
    live.log_metric("train/loss", record["train_loss"])
    live.log_metric("val/loss", record["val_loss"])
    live.log_metric("val/acc", record["val_acc"])
    live.log_metric("lr", record["lr"])
    live.log_metric("epoch_seconds", record["epoch_seconds"])
    live.log_metric("images_per_s", record["images_per_s"])
    live.next_step()


def _save_checkpoint(path: Path, fingerprint: str, state: dict, model, trainer: TrainStep) -> None:
    save_torch(path, {
        "fingerprint": fingerprint, "history": state["history"], "best_val_acc": state["best_val_acc"],
        "best_epoch": state["best_epoch"], "best_state": state["best_state"], "model": model.state_dict(),
        "trainer": trainer.state_dict(), "layer_dtypes": trainer.layer_dtypes,
    })


def _resume(path: Path, fingerprint: str, model, trainer: TrainStep) -> dict[str, Any]:
    """State after the last finished epoch of a matching checkpoint, else a fresh start."""
    fresh = {"history": [], "best_val_acc": -1.0, "best_epoch": 0, "best_state": None}
    if not path.is_file():
        return fresh
    try:
        saved = load_torch(path)
    except CnnLstmError as exc:  # only a cache of finished epochs: a damaged one costs time, never results
        print(f"warning: {exc}; ignoring the checkpoint, training from epoch 1", file=sys.stderr)
        return fresh
    if saved.get("fingerprint") != fingerprint:
        return fresh
    model.load_state_dict(saved["model"])
    trainer.load_state_dict(saved["trainer"])
    trainer.layer_dtypes = saved["layer_dtypes"]  # recorded on the run's first step
    return {k: saved[k] for k in fresh}
