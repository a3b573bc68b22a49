"""Which trained model(s) `cnnlstm predict` uses, loaded safely, and their averaged probabilities.

Default: the study's best model (metrics/summary.json `best_model`) as the ensemble of all its
fold models, models/<name>/fold*.pt, whose softmax outputs are averaged.
"""

from __future__ import annotations

import dataclasses
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


@dataclasses.dataclass(frozen=True)
class Predictor:
    name: str
    files: tuple[Path, ...]
    models: tuple[nn.Module, ...]
    runtime: Runtime

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


def resolve_model(spec: str | None, models_dir: Path, summary: Path) -> tuple[str | None, tuple[Path, ...]]:
    """--model NAME, --model FILE or nothing (the best model) -> (expected name or None, files)."""
    if spec is not None and _is_file_spec(spec):
        return None, (Path(spec),)
    name = spec if spec is not None else best_model_name(summary)
    return name, fold_files(models_dir, name)


def load_predictor(spec: str | None, models_dir: Path, summary: Path, runtime: Runtime) -> Predictor:
    """Load every file of the chosen model (weights only: torch.load(weights_only=True))."""
    expected, files = resolve_model(spec, models_dir, summary)
    models = []
    for path in files:
        model, meta = load_model(path)
        name = meta.get("model") or path.stem
        if expected is not None and name != expected:
            raise CnnLstmError(f"{path}: holds model {name!r}, not {expected!r}")
        models.append(model.to(runtime.device))
    return Predictor(expected or name, files, tuple(models), runtime)
