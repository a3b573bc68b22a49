"""Reading the JSON outputs of runs and of the aggregate stage, checked; light enough for any stage."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

from cnnlstm.core.errors import CnnLstmError


def read_json(path: Path, folds_sha256: str | None = None) -> dict[str, Any]:
    """A run's JSON output; with `folds_sha256`, it must come from that fold split."""
    try:
        data = json.loads(path.read_text())
    except FileNotFoundError:
        raise CnnLstmError(f"{path}: not found; run `dvc repro` to make it") from None
    except (ValueError, UnicodeDecodeError) as exc:
        raise CnnLstmError(f"{path}: not valid JSON ({exc})") from None
    if not isinstance(data, dict):
        raise CnnLstmError(f"{path}: expected a JSON object")
    if folds_sha256 is not None and data.get("folds_sha256") != folds_sha256:
        raise CnnLstmError(
            f"{path}: made with folds {str(data.get('folds_sha256'))[:12]}, but data/folds.npy is "
            f"{folds_sha256[:12]}; rerun its train and evaluate stages"
        )
    return data


def read_summary(path: Path, models: tuple[str, ...]) -> dict[str, Any]:
    """metrics/summary.json, which must cover exactly the study's models."""
    summary = read_json(path)
    if set(summary.get("models", {})) != set(models):
        raise CnnLstmError(f"{path}: summarises other models than the study's; run `dvc repro aggregate`")
    return summary
