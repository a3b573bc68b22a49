"""The models that come with the clone, so `cnnlstm predict` works before any training.

Two are shipped: the study's best model (metrics/summary.json `best_model`, chosen on held-out
folds, never on the test set) and the proposed one (`proposed_model`, params `model.name`), each
as the ensemble of its fold models: pretrained/<name>/fold<k>.pt are model files like
models/<name>/fold<k>.pt with every floating-point tensor stored as fp16 (half the bytes; loading
casts them back to the model's fp32). pretrained/manifest.json ties each file to the trained file
it came from by that file's md5 (the hash dvc.lock records for the train stage that wrote it) and
records each model's provenance (recipe, data slice, folds, commit) and role (best, proposed).

Only the study's models are shipped: a partial ensemble or one trained on a slice (a smoke or
small experiment run in the workspace) leaves pretrained/ as it is. A model's folder is replaced
only by the same model's new files; other models' files are never deleted, so an experiment whose
best model differs cannot take the shipped ones away (the stage's output is `persist`: DVC does
not empty it before the run either).
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
from cnnlstm.prediction.provenance import Provenance, from_records, head_commit
from cnnlstm.prediction.selection import MANIFEST, fold_files, fold_of, read_manifest


def _digest(path: Path, algorithm: str) -> str:
    return hashlib.new(algorithm, path.read_bytes()).hexdigest()


def _half(state_dict: dict[str, torch.Tensor]) -> dict[str, torch.Tensor]:
    return {key: t.half() if t.is_floating_point() else t for key, t in state_dict.items()}


def _roles(summary: dict[str, Any], summary_path: Path) -> dict[str, list[str]]:
    """{model: its roles}, the best model first; one entry if the proposed model is the best."""
    roles: dict[str, list[str]] = {}
    for role in ("best", "proposed"):
        name = summary.get(f"{role}_model")
        if not isinstance(name, str) or name not in summary.get("models", {}):
            raise CnnLstmError(f"{summary_path}: {role}_model {name!r} has no entry under models")
        roles.setdefault(name, []).append(role)
    return roles


def _write_folds(sources: tuple[Path, ...], payloads: list[dict[str, Any]], name: str, out_dir: Path) -> list[dict[str, Any]]:
    """out_dir/<name>/fold<k>.pt in fp16, swapped in whole; their manifest entries."""
    files = []
    with atomic_dir(out_dir / name) as tmp:
        for source, payload in zip(sources, payloads):
            shipped = tmp / source.name
            save_torch(shipped, {**payload, "state_dict": _half(payload["state_dict"]), "weights": "fp16"})
            files.append({
                "file": f"{name}/{source.name}",
                "sha256": _digest(shipped, "sha256"),
                "bytes": shipped.stat().st_size,
                "source": source.as_posix(),
                "source_md5": _digest(source, "md5"),  # = its train stage's out md5 in dvc.lock
            })
    return files


def ship_models(models_dir: Path, summary_path: Path, runs_dir: Path, train_logs: Path, out_dir: Path) -> list[str]:
    """Ship the best and the proposed model where they are the study's; one line per model said."""
    summary = read_json(summary_path)
    manifest = read_manifest(out_dir) if (out_dir / MANIFEST).is_file() else {"weights": "fp16", "files": []}
    shipped: dict[str, Any] = manifest.setdefault("shipped", {})
    lines = []
    for name, roles in _roles(summary, summary_path).items():
        sources = fold_files(models_dir, name)
        payloads = [load_torch(source) for source in sources]
        if any("state_dict" not in payload for payload in payloads):
            raise CnnLstmError(f"{models_dir / name}: a model file lacks its weights")
        folds = tuple(fold_of(s, p) for s, p in zip(sources, payloads))
        provenance = Provenance(
            folds, summary.get("folds"),
            *from_records(name, folds, payloads[0].get("folds_sha256"), runs_dir, train_logs, summary.get("folds")),
            head_commit())
        refusal = provenance.refusal(allow_partial=False, allow_slice=False)
        if refusal is not None:
            lines.append(f"{out_dir / name}: not shipped, {refusal[0]}; the shipped copy is kept")
            continue
        files = _write_folds(sources, payloads, name, out_dir)
        manifest["files"] = [e for e in manifest["files"] if not e["file"].startswith(f"{name}/")] + files
        for other in shipped.values():  # a role belongs to one model
            other["roles"] = [r for r in other.get("roles", []) if r not in roles]
        model = summary["models"][name]
        shipped[name] = {
            "roles": roles,
            "heldout_accuracy": model["cv"]["accuracy"],
            "test_accuracy_ensemble": model["test_ensemble"]["accuracy"],
            "selected_by": "held-out accuracy over the cross-validation folds (metrics/summary.json)",
            "conditions": summary.get("conditions"),
            "provenance": provenance.as_dict(),
        }
        size = sum(entry["bytes"] for entry in files)
        lines.append(f"{out_dir / name}: {' and '.join(roles)} model, {len(files)} fold models, fp16, {size / 1e6:.1f} MB")
    manifest["files"].sort(key=lambda e: e["file"])
    write_json(out_dir / MANIFEST, manifest)
    return lines
