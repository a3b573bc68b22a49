"""The chosen model's files (prediction/selection.py) loaded safely, and their averaged probabilities.

The fold models' softmax outputs are averaged. The user is told which files and where they came
from (prediction/provenance.py); a partial ensemble or one trained on a slice of the data is
refused unless asked for explicitly.
"""

from __future__ import annotations

import dataclasses
import json
from pathlib import Path
from typing import Any

import torch
from torch import nn

from cnnlstm.models.checkpoint import load_model
from cnnlstm.core.errors import CnnLstmError
from cnnlstm.core.inference import predict_logits
from cnnlstm.core.runtime import Runtime
from cnnlstm.prediction.provenance import Provenance, commit_of, from_records
from cnnlstm.prediction.selection import MANIFEST, Selection, Sources, fold_of


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


def load_predictor(
    selection: Selection, where: Sources, runtime: Runtime, allow_partial: bool, allow_slice: bool
) -> Predictor:
    """Load every file of the chosen model (weights only: torch.load(weights_only=True)); refuse,
    in one line, an ensemble that is not the study's model unless allowed. A model FILE named
    explicitly is what the user asked for: described, never refused."""
    expected, files, source, manifest = selection
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
