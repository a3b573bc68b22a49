"""Model files: weights and plain metadata only, loaded with weights_only=True (no code runs)."""

from __future__ import annotations

import dataclasses
import pickle
import zipfile
from pathlib import Path
from typing import Any

import torch
from torch import nn

from cnnlstm.core.atomic import atomic_path
from cnnlstm.core.errors import CnnLstmError
from cnnlstm.core.model_configs import parse_config
from cnnlstm.models.registry import build_model

FORMAT = "cnnlstm-model/1"


def save_torch(path: str | Path, payload: dict[str, Any]) -> None:
    with atomic_path(path) as tmp:
        torch.save(payload, tmp)


def load_torch(path: str | Path) -> dict[str, Any]:
    """Load a torch file safely; a missing, truncated or foreign file is a one-line error."""
    path = Path(path)
    if not path.is_file():
        raise CnnLstmError(f"{path}: model file not found")
    try:
        payload = torch.load(path, map_location="cpu", weights_only=True)
    except pickle.UnpicklingError as exc:
        if "Unsupported global" not in str(exc):  # garbage, not a file that holds objects
            raise CnnLstmError(f"{path}: not a loadable weights file (corrupt pickle data)") from None
        raise CnnLstmError(
            f"{path}: not a weights-only file (it holds objects other than tensors and plain data; "
            "refused because loading it could run code)"
        ) from None
    except (RuntimeError, EOFError, zipfile.BadZipFile, ValueError) as exc:
        raise CnnLstmError(f"{path}: not a loadable weights file ({str(exc).splitlines()[0]})") from None
    if not isinstance(payload, dict):
        raise CnnLstmError(f"{path}: not a cnnlstm file")
    return payload


def save_model(path: str | Path, name: str, family: str, config: Any, model: nn.Module, **meta: Any) -> None:
    save_torch(path, {
        "format": FORMAT,
        "model": name,
        "family": family,
        "config": dataclasses.asdict(config),
        "state_dict": model.state_dict(),
        **meta,
    })


def load_model(path: str | Path) -> tuple[nn.Module, dict[str, Any]]:
    """Rebuild the model a file was saved from; return it (eval mode) and the file's metadata."""
    payload = load_torch(path)
    if "format" not in payload:
        raise CnnLstmError(f"{path}: not a cnnlstm model file (no 'format' field; a bare state_dict?)")
    if payload["format"] != FORMAT:
        raise CnnLstmError(f"{path}: format {payload['format']!r}, expected {FORMAT!r}")
    if not isinstance(payload.get("config"), dict) or not isinstance(payload.get("state_dict"), dict):
        raise CnnLstmError(f"{path}: model file lacks its config or weights")
    family, config = parse_config({"family": payload.get("family"), **payload["config"]}, f"{path}: config")
    model = build_model(family, config)
    try:
        model.load_state_dict(payload["state_dict"])
    except RuntimeError as exc:
        detail = [line.strip() for line in str(exc).splitlines() if line.strip()][1:2] or [str(exc)]
        raise CnnLstmError(f"{path}: weights do not fit the {family} architecture ({detail[0]})") from None
    meta = {k: v for k, v in payload.items() if k != "state_dict"}
    return model.eval(), meta
