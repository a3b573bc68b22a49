"""The model that comes with the clone, so `cnnlstm predict` works before any training.

It is the study's best model (metrics/summary.json `best_model`, chosen on held-out folds, never
on the test set) as the ensemble of its fold models: pretrained/<name>/fold<k>.pt are model files
like models/<name>/fold<k>.pt with every floating-point tensor stored as fp16 (half the bytes;
loading casts them back to the model's fp32). pretrained/manifest.json ties each file to the
trained file it came from by that file's md5, the hash dvc.lock records for the train stage
that wrote it, and copies the run's conditions (budget, device, precision) from the summary.
"""

from __future__ import annotations

import hashlib
from pathlib import Path
from typing import Any

import torch

from cnnlstm.core.atomic import atomic_dir, write_json
from cnnlstm.core.errors import CnnLstmError
from cnnlstm.core.jsonio import read_json
from cnnlstm.models.checkpoint import load_torch, save_torch
from cnnlstm.prediction.models import MANIFEST, best_model_name, fold_files


def _digest(path: Path, algorithm: str) -> str:
    return hashlib.new(algorithm, path.read_bytes()).hexdigest()


def _half(state_dict: dict[str, torch.Tensor]) -> dict[str, torch.Tensor]:
    return {key: t.half() if t.is_floating_point() else t for key, t in state_dict.items()}


def _heldout(summary: dict[str, Any], name: str) -> dict[str, Any]:
    model = summary["models"][name]
    return {"heldout_accuracy": model["cv"]["accuracy"], "test_accuracy_ensemble": model["test_ensemble"]["accuracy"]}


def ship_best_model(models_dir: Path, summary_path: Path, out_dir: Path) -> dict[str, Any]:
    """Write out_dir/<best>/fold<k>.pt (fp16) and out_dir/manifest.json; return the manifest."""
    name = best_model_name(summary_path)
    summary = read_json(summary_path)
    if name not in summary.get("models", {}):
        raise CnnLstmError(f"{summary_path}: best_model {name!r} has no entry under models")
    sources = fold_files(models_dir, name)
    files = []
    with atomic_dir(out_dir) as tmp:
        for source in sources:
            payload = load_torch(source)
            if "state_dict" not in payload:
                raise CnnLstmError(f"{source}: model file lacks its weights")
            shipped = tmp / name / source.name
            save_torch(shipped, {**payload, "state_dict": _half(payload["state_dict"]), "weights": "fp16"})
            files.append({
                "file": f"{name}/{source.name}",
                "sha256": _digest(shipped, "sha256"),
                "bytes": shipped.stat().st_size,
                "source": source.as_posix(),
                "source_md5": _digest(source, "md5"),  # = its train stage's out md5 in dvc.lock
            })
        manifest = {
            "model": name,
            "weights": "fp16",
            "selected_by": "best held-out accuracy over the cross-validation folds (metrics/summary.json best_model)",
            **_heldout(summary, name),
            "conditions": summary.get("conditions"),
            "files": files,
        }
        write_json(tmp / MANIFEST, manifest)
    return manifest
