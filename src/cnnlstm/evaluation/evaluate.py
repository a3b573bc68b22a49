"""Evaluate one trained run: predictions on its held-out fold and the test set, metrics, cost."""

from __future__ import annotations

import dataclasses
import json
from pathlib import Path
from typing import Any

import numpy as np
import torch

from cnnlstm.core.atomic import write_json
from cnnlstm.models.checkpoint import load_model
from cnnlstm.data.fashion_mnist import load_split
from cnnlstm.data.folds import file_sha256, fold_indices, load_folds
from cnnlstm.core.errors import CnnLstmError
from cnnlstm.models.cost import latency_ms, timed_predict
from cnnlstm.evaluation.metrics import classification_metrics
from cnnlstm.evaluation.predictions import Predictions, save_predictions, stored
from cnnlstm.evaluation.sampling import per_class_sample, test_subset
from cnnlstm.core.inference import predict_logits
from cnnlstm.core.params import EvalParams
from cnnlstm.core.runtime import resolve_runtime


@dataclasses.dataclass(frozen=True)
class EvalPaths:
    raw_dir: Path  # data/raw
    folds: Path  # data/folds.npy
    model_file: Path  # models/<name>/fold<k>.pt
    train_summary: Path  # runs/<name>/fold<k>/run.json (training seconds)
    predictions: Path  # results/<name>/fold<k>.npz
    metrics: Path  # results/<name>/fold<k>.metrics.json (collect copies it to metrics/runs/)
    timings: Path  # results/<name>/fold<k>.timings.json (collect copies it to metrics/timings/)


def check_model_file(path: Path, meta: dict[str, Any], name: str, fold: int, folds_sha256: str) -> None:
    """The model file must be the run it is named after, trained on the current fold split."""
    if meta.get("model") != name or meta.get("fold") != fold:
        raise CnnLstmError(f"{path}: holds {meta.get('model')} fold {meta.get('fold')}, expected {name} fold {fold}")
    if meta.get("folds_sha256") != folds_sha256:
        raise CnnLstmError(
            f"{path}: trained on folds {str(meta.get('folds_sha256'))[:12]}, but data/folds.npy is "
            f"{folds_sha256[:12]}; rerun `dvc repro` to retrain it"
        )


def read_train_seconds(path: Path) -> float:
    try:
        return float(json.loads(path.read_text())["train_seconds"])
    except FileNotFoundError:
        raise CnnLstmError(f"{path}: training summary not found; rerun the train stage") from None
    except (ValueError, KeyError, TypeError) as exc:
        raise CnnLstmError(f"{path}: no readable train_seconds ({exc})") from None


TRAINING_KEYS = ("epochs", "batch_size", "lr", "augment", "device", "amp", "step")  # from run.json


def read_training_schedule(path: Path) -> dict[str, Any]:
    """How the run was trained, so timings and the report can say which schedule produced it;
    null for a key an older summary lacks."""
    summary = json.loads(path.read_text())
    return {key: summary.get(key) for key in TRAINING_KEYS}


def evaluate_fold(eval_params: EvalParams, name: str, fold: int, paths: EvalPaths, tsne: bool) -> dict[str, Any]:
    """Write the run's predictions, quality metrics and timings; return the metrics. With `tsne`, the
    predictions keep the t-SNE sample's features; the figure uses the first fold's only, and the
    other folds leave theirs empty (issue 22: the runs travel in git, 0.1-0.5 MB each)."""
    folds_sha = file_sha256(paths.folds)
    model, meta = load_model(paths.model_file)
    check_model_file(paths.model_file, meta, name, fold, folds_sha)
    train_seconds = read_train_seconds(paths.train_summary)
    runtime = resolve_runtime(eval_params.device, eval_params.precision, section="eval")
    batch = eval_params.batch_size

    train, test = load_split(paths.raw_dir, "train"), load_split(paths.raw_dir, "t10k")
    _, heldout_idx = fold_indices(load_folds(paths.folds, len(train.labels)), fold)
    test_idx = test_subset(test.labels, eval_params.test_subset)
    tsne_idx = per_class_sample(test.labels, eval_params.tsne_per_class)[: None if tsne else 0]

    model.to(runtime.device)
    heldout_logits = predict_logits(model, torch.from_numpy(train.images[heldout_idx]), runtime, batch)
    test_logits, images_per_s = timed_predict(model, torch.from_numpy(test.images[test_idx]), runtime, batch)
    predictions = Predictions(
        heldout_index=heldout_idx,
        heldout_labels=train.labels[heldout_idx],
        heldout_probs=stored(torch.softmax(heldout_logits, dim=1).numpy()),
        test_index=test_idx,
        test_labels=test.labels[test_idx],
        test_probs=stored(torch.softmax(test_logits, dim=1).numpy()),
        tsne_index=tsne_idx,
        tsne_labels=test.labels[tsne_idx],
        tsne_features=stored(predict_logits(
            model, torch.from_numpy(test.images[tsne_idx]), runtime, batch, features=True
        ).numpy()) if tsne else np.zeros((0, 0), np.float32),
        folds_sha256=folds_sha,
    )
    source = str(paths.predictions)
    metrics = {
        "model": name,
        "fold": fold,
        "folds_sha256": folds_sha,
        "heldout": classification_metrics(predictions.heldout_labels, predictions.heldout_probs, source),
        "test": classification_metrics(predictions.test_labels, predictions.test_probs, source),
    }
    timings = {
        "model": name,
        "fold": fold,
        "device": runtime.device.type,
        "precision": str(runtime.amp_dtype).removeprefix("torch.") if runtime.amp_dtype else "fp32",
        "threads": torch.get_num_threads(),
        "train_seconds": round(train_seconds, 2),
        "training": read_training_schedule(paths.train_summary),
        "inference_batch_size": batch,
        "inference_images_per_s": round(images_per_s, 1),
        "latency_ms": round(latency_ms(model, torch.from_numpy(test.images[test_idx[:1]]), runtime), 3),
    }
    save_predictions(paths.predictions, predictions)
    write_json(paths.metrics, metrics)
    write_json(paths.timings, timings)
    return metrics
