"""The conditions a study's verdicts hold under: training budget, augmentation, schedule, device and
precision, taken from params and from what the runs themselves logged."""

from __future__ import annotations

import dataclasses
from typing import Any

from cnnlstm.core.errors import CnnLstmError
from cnnlstm.core.params import Params


# What a run record (logs/train/.../run.json) states of its recipe and training precision (`amp`): a study
# point holds one value of each. Keys a record lacks read as None, so old and new records never mix.
RECIPE_KEYS = ("epochs", "lr", "batch_size", "augment", "amp", "optimizer", "schedule", "weight_decay",
               "label_smoothing")
NOT_RECORDED = "not recorded"  # the hardware of a run made before run records named it


def _distinct(values: list[Any]) -> str:
    """The values seen across runs, e.g. "cuda" or "cpu/cuda" when runs differ."""
    return "/".join(sorted({str(v) for v in values}))


def _run_name(log: dict[str, Any]) -> str:
    return f"{log.get('model')} fold {log.get('fold')}"


def check_one_recipe(train_logs: list[dict[str, Any]], where: str) -> None:
    """One recipe and one training precision across all runs of a study point (devices may differ): else
    a one-line error naming a run of each value."""
    for key in RECIPE_KEYS:
        runs: dict[str, list[str]] = {}
        for log in train_logs:
            runs.setdefault(repr(log.get(key)), []).append(_run_name(log))
        if len(runs) > 1:
            seen = "; ".join(f"{value} in {names[0]}" + (f" (+{len(names) - 1} more)" if len(names) > 1 else "")
                             for value, names in sorted(runs.items()))
            raise CnnLstmError(f"{where}: runs of different recipe or precision, `{key}`: {seen}; "
                               f"a study point holds one recipe and one training precision")


def hardware_counts(train_logs: list[dict[str, Any]]) -> dict[str, int]:
    """{CPU model or GPU name: number of runs trained on it}, from the run records' `hardware`."""
    counts: dict[str, int] = {}
    for log in train_logs:
        name = str(log.get("hardware") or NOT_RECORDED)
        counts[name] = counts.get(name, 0) + 1
    return dict(sorted(counts.items()))


def study_conditions(params: Params, train_logs: list[dict[str, Any]], timings: list[dict[str, Any]]) -> dict[str, Any]:
    """What every verdict of a study is conditional on, from every run's logs/train/.../run.json and
    metrics/timings/... file. Epochs, device and precision come from the logs (what actually ran); the
    schedule and augmentation from params, which the train stages depend on, so DVC keeps the two in
    step. Runs trained for another budget than params says, or of different recipes or precisions, are an
    error; the devices and hardware may differ (they are listed)."""
    epochs = {log["epochs"] for log in train_logs}
    if epochs != {params.train.epochs}:
        raise CnnLstmError(
            f"logs/train: runs trained for {sorted(epochs)} epochs, params.yaml says train.epochs "
            f"{params.train.epochs}; rerun the train stages"
        )
    check_one_recipe(train_logs, "logs/train")
    tp = params.train
    return {
        "epochs": tp.epochs,
        "optimizer": tp.optimizer,
        "lr": tp.lr,
        "schedule": tp.schedule,
        "batch_size": tp.batch_size,
        "weight_decay": tp.weight_decay,
        "label_smoothing": tp.label_smoothing,
        "augment": dataclasses.asdict(tp.augment),
        "train_device": _distinct([log["device"] for log in train_logs]),
        "train_precision": _distinct([log["amp"] for log in train_logs]),
        "train_hardware": hardware_counts(train_logs),
        "train_images": round(sum(log["train_images"] for log in train_logs) / len(train_logs)),
        "eval_device": _distinct([t["device"] for t in timings]),
        "eval_precision": _distinct([t["precision"] for t in timings]),
    }


def augmentation_phrase(augment: dict[str, Any]) -> str:
    """E.g. `no augmentation`, or `augmentation: random crop (pad 2), horizontal flip, random erasing (p 0.25)`."""
    parts = []
    if augment["crop_padding"]:
        parts.append(f"random crop (pad {augment['crop_padding']})")
    if augment["hflip"]:
        parts.append("horizontal flip")
    if augment["erasing"]:
        parts.append(f"random erasing (p {augment['erasing']:g})")
    return "augmentation: " + ", ".join(parts) if parts else "no augmentation"


def budget_phrase(conditions: dict[str, Any]) -> str:
    """The label every verdict carries, e.g. `at a 2-epoch budget, no augmentation, trained in bf16 on cpu`."""
    return (
        f"at a {conditions['epochs']}-epoch budget, {augmentation_phrase(conditions['augment'])}, "
        f"trained in {conditions['train_precision']} on {conditions['train_device']}"
    )


def schedule_phrase(conditions: dict[str, Any]) -> str:
    """The whole training recipe in one sentence."""
    c = conditions
    schedule = {"onecycle": "a one-cycle", "cosine": "a cosine", "constant": "a constant"}[c["schedule"]]
    return (
        f"{c['epochs']} epochs of {c['optimizer']} with {schedule} learning-rate schedule (peak {c['lr']:g}), "
        f"batch {c['batch_size']}, weight decay {c['weight_decay']:g}, label smoothing {c['label_smoothing']:g}, "
        f"{augmentation_phrase(c['augment'])}; about {c['train_images']:,} training images per fold; trained in "
        f"{c['train_precision']} on {c['train_device']}, evaluated in {c['eval_precision']} on {c['eval_device']}"
    )


def recipe(conditions: dict[str, Any]) -> str:
    """Everything a budget point was trained with except its epochs: points with the same recipe lie on
    one curve; a point with another recipe (e.g. the short CPU run) is drawn and listed apart."""
    c = conditions
    return (f"{c['optimizer']} {c['schedule']} lr {c['lr']:g} batch {c['batch_size']}, "
            f"{augmentation_phrase(c['augment'])}, {c['train_precision']} on {c['train_device']}")
