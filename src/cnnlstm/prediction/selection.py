"""Which model files `cnnlstm predict` loads, found without loading any: no torch here, so a file can
be checked (prediction/archive.py) before the 640 MB of torch are imported.

Default: the study's best model (metrics/summary.json `best_model`) as the ensemble of all its
fold models, models/<name>/fold*.pt. Where no trained files of that model exist (a fresh clone),
the copy shipped with the clone is used: pretrained/<name>/, each file checked against the sha256
in pretrained/manifest.json (prediction/shipped.py writes it).
"""

from __future__ import annotations

import dataclasses
import hashlib
import json
import re
from pathlib import Path
from typing import Any, NamedTuple

from cnnlstm.core.errors import CnnLstmError

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


class Selection(NamedTuple):
    expected: str | None            # the model every file must hold; None for a FILE named explicitly
    files: tuple[Path, ...]
    source: str                     # where the files came from, as told to the user
    manifest: dict[str, Any] | None  # the shipped manifest, if the files are the shipped copy


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


def fold_of(path: Path, meta: dict[str, Any]) -> int:
    """A fold model's fold: from its name fold<k>.pt, else the fold its file records."""
    match = _FOLD_FILE.fullmatch(path.name)
    return int(match.group(1)) if match else int(meta.get("fold", -1))


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


def resolve_model(spec: str | None, where: Sources) -> Selection:
    """--model NAME, --model FILE or nothing (the best model) -> the files to load and where they came from."""
    if spec is not None and _is_file_spec(spec):
        return Selection(None, (Path(spec),), str(spec), None)
    name = spec if spec is not None else best_model_name(where.summary)
    try:
        return Selection(name, fold_files(where.models_dir, name), (where.models_dir / name).as_posix(), None)
    except CnnLstmError as no_local:
        if not (where.shipped_dir / name).is_dir():
            raise no_local from None
    files, manifest = _checked_shipped(where.shipped_dir, name)
    source = (f"{(where.shipped_dir / name).as_posix()}, shipped with the clone "
              f"(fp16 weights; no trained {where.models_dir / name} here)")
    return Selection(name, files, source, manifest)
