"""Which trained model(s) `cnnlstm predict` uses, loaded safely, and their averaged probabilities.

Default: the study's best model (metrics/summary.json `best_model`) as the ensemble of all its
fold models, models/<name>/fold*.pt, whose softmax outputs are averaged. Where no trained files
of that model exist (a fresh clone), the copy shipped with the clone is used: pretrained/<name>/,
each file checked against the sha256 in pretrained/manifest.json (prediction/shipped.py).
"""

from __future__ import annotations

import dataclasses
import hashlib
import json
import re
from pathlib import Path

import torch
from torch import nn

from cnnlstm.models.checkpoint import load_model
from cnnlstm.core.errors import CnnLstmError
from cnnlstm.core.inference import predict_logits
from cnnlstm.core.runtime import Runtime

_FOLD_FILE = re.compile(r"fold(\d+)\.pt")
MANIFEST = "manifest.json"  # in the shipped-model folder


@dataclasses.dataclass(frozen=True)
class Predictor:
    name: str
    files: tuple[Path, ...]
    models: tuple[nn.Module, ...]
    runtime: Runtime
    source: str  # where the files came from, as told to the user

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


def _checked_shipped(shipped_dir: Path, name: str) -> tuple[Path, ...]:
    """pretrained/<name>/fold*.pt, each matching the sha256 its manifest records."""
    manifest_path = shipped_dir / MANIFEST
    try:
        manifest = json.loads(manifest_path.read_text())
        digests = {entry["file"]: entry["sha256"] for entry in manifest["files"]}
    except (OSError, ValueError, KeyError, TypeError):
        raise CnnLstmError(f"{manifest_path}: missing or not a shipped-model manifest") from None
    files = fold_files(shipped_dir, name)
    for path in files:
        recorded = digests.get(f"{name}/{path.name}")
        if recorded != hashlib.sha256(path.read_bytes()).hexdigest():
            raise CnnLstmError(f"{path}: sha256 differs from {manifest_path} (damaged or replaced)")
    return files


def resolve_model(
    spec: str | None, models_dir: Path, summary: Path, shipped_dir: Path
) -> tuple[str | None, tuple[Path, ...], str]:
    """--model NAME, --model FILE or nothing (the best model) -> (expected name or None, files, source)."""
    if spec is not None and _is_file_spec(spec):
        return None, (Path(spec),), str(spec)
    name = spec if spec is not None else best_model_name(summary)
    try:
        return name, fold_files(models_dir, name), (models_dir / name).as_posix()
    except CnnLstmError as no_local:
        if not (shipped_dir / name).is_dir():
            raise no_local from None
    source = f"{(shipped_dir / name).as_posix()}, shipped with the clone (fp16 weights; no trained {models_dir / name} here)"
    return name, _checked_shipped(shipped_dir, name), source


def load_predictor(
    spec: str | None, models_dir: Path, summary: Path, runtime: Runtime, shipped_dir: Path
) -> Predictor:
    """Load every file of the chosen model (weights only: torch.load(weights_only=True))."""
    expected, files, source = resolve_model(spec, models_dir, summary, shipped_dir)
    models = []
    for path in files:
        model, meta = load_model(path)
        name = meta.get("model") or path.stem
        if expected is not None and name != expected:
            raise CnnLstmError(f"{path}: holds model {name!r}, not {expected!r}")
        models.append(model.to(runtime.device))
    return Predictor(expected or name, files, tuple(models), runtime, source)
