"""Which trained model(s) `cnnlstm predict` uses, loaded safely, and their averaged probabilities.

Default: the study's best model (metrics/summary.json `best_model`) as the ensemble of all its
fold models, models/<name>/fold*.pt, whose softmax outputs are averaged. Where no trained files
of that model exist (a fresh clone), the copy shipped with the clone is used: pretrained/<name>/,
each file checked against the sha256 in pretrained/manifest.json (prediction/shipped.py).
The user is told which files and where they came from (prediction/provenance.py); a partial
ensemble or one trained on a slice of the data is refused unless asked for explicitly.
"""

from __future__ import annotations

import dataclasses
import hashlib
import json
import re
from pathlib import Path
from typing import Any

import torch
from torch import nn

from cnnlstm.models.checkpoint import load_model
from cnnlstm.core.errors import CnnLstmError
from cnnlstm.core.inference import predict_logits
from cnnlstm.core.runtime import Runtime
from cnnlstm.prediction.provenance import Provenance, commit_of, from_records

_FOLD_FILE = re.compile(r"fold(\d+)\.pt")
MANIFEST = "manifest.json"  # in the shipped-model folder


@dataclasses.dataclass(frozen=True)
class Sources:
    """Where predict looks, relative to the repository root a user runs it from."""
    models_dir: Path   # trained fold models, models/<name>/fold<k>.pt
    shipped_dir: Path  # the copy that comes with the clone, pretrained/
    summary: Path      # metrics/summary.json: best_model, folds
    runs_dir: Path     # metrics/runs: the evaluate stage's records
    train_logs: Path   # logs/train: the train stage's records
    lock: Path         # dvc.lock: which trained files the commit records


@dataclasses.dataclass(frozen=True)
class Predictor:
    name: str
    files: tuple[Path, ...]
    models: tuple[nn.Module, ...]
    runtime: Runtime
    source: str  # where the files came from, as told to the user
    provenance: Provenance

    def probabilities(self, images: torch.Tensor) -> torch.Tensor:
        """uint8 (N, 28, 28) -> (N, 10) float32: the mean over models of each model's softmax."""
        probs = [torch.softmax(predict_logits(m, images, self.runtime), dim=1) for m in self.models]
        return torch.stack(probs).mean(dim=0)  # (M, N, 10) -> (N, 10)


def best_model_name(summary: Path) -> str:
    """The model the aggregate stage found best on held-out folds."""
    if not summary.is_file():
        raise CnnLstmError(
            f"{summary}: not found; run the pipeline (dvc repro) or choose one with --model NAME|FILE"
        )
    try:
        name = json.loads(summary.read_text()).get("best_model")
    except (json.JSONDecodeError, UnicodeDecodeError, AttributeError):
        raise CnnLstmError(f"{summary}: not a summary JSON object") from None
    if not isinstance(name, str) or not name:
        raise CnnLstmError(f"{summary}: has no best_model; choose one with --model NAME|FILE")
    return name


def _is_file_spec(spec: str) -> bool:
    path = Path(spec)
    return path.suffix == ".pt" or len(path.parts) > 1 or path.is_file()


def fold_files(models_dir: Path, name: str) -> tuple[Path, ...]:
    """models/<name>/fold<k>.pt in fold order; a clear error lists the models that do exist."""
    folder = models_dir / name
    numbered = {int(m.group(1)): p for p in folder.glob("fold*.pt") if (m := _FOLD_FILE.fullmatch(p.name))}
    files = tuple(numbered[fold] for fold in sorted(numbered))  # fold10 after fold2
    if not files:
        known = sorted(p.parent.name for p in models_dir.glob("*/fold*.pt"))
        hint = f"models there: {', '.join(dict.fromkeys(known))}" if known else "train it first (dvc repro)"
        raise CnnLstmError(f"{folder}: no trained model files fold*.pt ({hint})")
    return files


def read_manifest(shipped_dir: Path) -> dict[str, Any]:
    manifest_path = shipped_dir / MANIFEST
    try:
        manifest = json.loads(manifest_path.read_text())
        valid = all(isinstance(e["file"], str) and isinstance(e["sha256"], str) for e in manifest["files"])
    except (OSError, ValueError, KeyError, TypeError):
        valid = False
    if not valid:
        raise CnnLstmError(f"{manifest_path}: missing or not a shipped-model manifest")
    return manifest


def _checked_shipped(shipped_dir: Path, name: str) -> tuple[tuple[Path, ...], dict[str, Any]]:
    """pretrained/<name>/fold*.pt, each matching the sha256 its manifest records, and the manifest."""
    manifest = read_manifest(shipped_dir)
    digests = {entry["file"]: entry["sha256"] for entry in manifest["files"]}
    files = fold_files(shipped_dir, name)
    for path in files:
        recorded = digests.get(f"{name}/{path.name}")
        if recorded != hashlib.sha256(path.read_bytes()).hexdigest():
            raise CnnLstmError(f"{path}: sha256 differs from {shipped_dir / MANIFEST} (damaged or replaced)")
    return files, manifest


def fold_of(path: Path, meta: dict[str, Any]) -> int:
    """A fold model's fold: from its name fold<k>.pt, else the fold its file records."""
    match = _FOLD_FILE.fullmatch(path.name)
    return int(match.group(1)) if match else int(meta.get("fold", -1))


def _summary_folds(summary: Path) -> int | None:
    try:
        folds = json.loads(summary.read_text()).get("folds")
    except (OSError, ValueError, AttributeError):
        return None
    return folds if isinstance(folds, int) else None


# A 10-fold study of all 60,000 images trains each fold model on 54,000 less its 5% selection slice.
WHOLE_DATA_TRAIN_IMAGES = 51_300


def _shipped_provenance(manifest: dict[str, Any], name: str, folds: tuple[int, ...]) -> Provenance:
    recorded = manifest.get("shipped", {}).get(name, {}).get("provenance")
    if recorded is not None:
        return Provenance.from_dict(recorded)
    if manifest.get("model") == name and "conditions" in manifest:
        return _legacy_provenance(manifest["conditions"], folds)
    return Provenance(folds, None, None, None, None, f"unknown ({MANIFEST} has no provenance record for {name})")


def _legacy_provenance(conditions: dict[str, Any], folds: tuple[int, ...]) -> Provenance:
    """A manifest of the one-model ship stage (before provenance records): it shipped a whole study's
    fold models with that study's conditions; whole data when its fold models trained on 51,300 images."""
    recipe = {"epochs": conditions["epochs"], "batch_size": conditions["batch_size"], "lr": conditions["lr"],
              "augment": conditions["augment"], "amp": conditions["train_precision"], "device": conditions["train_device"]}
    whole = conditions.get("train_images") == WHOLE_DATA_TRAIN_IMAGES
    return Provenance(folds, len(folds) if whole else None, 1.0 if whole else None, 1.0 if whole else None, recipe,
                      f"not recorded ({MANIFEST} of the one-model ship stage)")


def _local_provenance(name: str, files: tuple[Path, ...], metas: list[dict[str, Any]], where: Sources) -> Provenance:
    folds = tuple(fold_of(f, meta) for f, meta in zip(files, metas))
    cv_folds = _summary_folds(where.summary)
    cv_subset, test_subset, recipe = from_records(
        name, folds, metas[0].get("folds_sha256"), where.runs_dir, where.train_logs, cv_folds)
    return Provenance(folds, cv_folds, cv_subset, test_subset, recipe, commit_of(files, where.lock))


def resolve_model(spec: str | None, where: Sources) -> tuple[str | None, tuple[Path, ...], str, dict[str, Any] | None]:
    """--model NAME, --model FILE or nothing (the best model) ->
    (expected name or None, files, source, the shipped manifest if the files are the shipped copy)."""
    if spec is not None and _is_file_spec(spec):
        return None, (Path(spec),), str(spec), None
    name = spec if spec is not None else best_model_name(where.summary)
    try:
        return name, fold_files(where.models_dir, name), (where.models_dir / name).as_posix(), None
    except CnnLstmError as no_local:
        if not (where.shipped_dir / name).is_dir():
            raise no_local from None
    files, manifest = _checked_shipped(where.shipped_dir, name)
    source = (f"{(where.shipped_dir / name).as_posix()}, shipped with the clone "
              f"(fp16 weights; no trained {where.models_dir / name} here)")
    return name, files, source, manifest


def load_predictor(
    spec: str | None, where: Sources, runtime: Runtime, allow_partial: bool, allow_slice: bool
) -> Predictor:
    """Load every file of the chosen model (weights only: torch.load(weights_only=True)); refuse,
    in one line, an ensemble that is not the study's model unless allowed. A model FILE named
    explicitly is what the user asked for: described, never refused."""
    expected, files, source, manifest = resolve_model(spec, where)
    models, metas = [], []
    for path in files:
        model, meta = load_model(path)
        name = meta.get("model") or path.stem
        if expected is not None and name != expected:
            raise CnnLstmError(f"{path}: holds model {name!r}, not {expected!r}")
        models.append(model.to(runtime.device))
        metas.append(meta)
    name = expected or name
    if manifest is not None:
        provenance = _shipped_provenance(manifest, name, tuple(fold_of(f, m) for f, m in zip(files, metas)))
    else:
        provenance = _local_provenance(name, files, metas, where)
    refusal = provenance.refusal(allow_partial, allow_slice) if expected is not None else None
    if refusal is not None:
        raise CnnLstmError(f"{source}: refused, {refusal[0]}; {refusal[1]} uses it anyway")
    return Predictor(name, files, tuple(models), runtime, source, provenance)
