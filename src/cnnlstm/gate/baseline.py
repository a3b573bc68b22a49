"""The committed smoke baseline (gate/baseline.json): gated metrics plus what they were measured with."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

from cnnlstm.core.atomic import write_json
from cnnlstm.core.errors import CnnLstmError
from cnnlstm.gate.compare import Metrics

FORMAT = 1
UPDATE_HINT = "python -m cnnlstm.gate --update-baseline"


def write_baseline(
    path: str | Path, metrics: Metrics, *, profile: str, protocol_sha256: str, folds_sha256: str,
    params: dict[str, Any],
) -> None:
    write_json(path, {
        "format": FORMAT,
        "made_by": UPDATE_HINT,
        "profile": profile,
        "protocol_sha256": protocol_sha256,
        "folds_sha256": folds_sha256,
        "params": params,
        "models": metrics,
    })


def load_baseline(path: str | Path) -> dict[str, Any]:
    path = Path(path)
    try:
        baseline = json.loads(path.read_text())
    except FileNotFoundError:
        raise CnnLstmError(f"{path}: baseline file not found; create it with `{UPDATE_HINT}`") from None
    except ValueError as exc:  # truncated JSON, or bytes that are not UTF-8 text
        raise CnnLstmError(f"{path}: not valid JSON ({exc})") from None
    keys = {"format", "profile", "protocol_sha256", "folds_sha256", "params", "models"}
    if not isinstance(baseline, dict) or baseline.get("format") != FORMAT or not keys <= set(baseline):
        raise CnnLstmError(f"{path}: not a format-{FORMAT} gate baseline; recreate it with `{UPDATE_HINT}`")
    return baseline


def check_protocol(baseline: dict[str, Any], path: str | Path, protocol_sha256: str) -> None:
    """Refuse a baseline measured under another profile: its numbers mean something else, so
    passing against it would prove nothing."""
    if baseline["protocol_sha256"] != protocol_sha256:
        raise CnnLstmError(
            f"{path}: baseline was made with another profile ({baseline['profile']}, protocol "
            f"{baseline['protocol_sha256'][:12]}, this run {protocol_sha256[:12]}): the profile file or "
            f"the cv/eval params changed; if intended, recreate it with `{UPDATE_HINT}`"
        )


def check_folds(baseline: dict[str, Any], path: str | Path, folds_sha256: str) -> None:
    """Refuse a baseline scored on other folds (same params, but the split code changed)."""
    if baseline["folds_sha256"] != folds_sha256:
        raise CnnLstmError(
            f"{path}: baseline was scored on other folds (folds_sha256 {baseline['folds_sha256'][:12]}, "
            f"this run {folds_sha256[:12]}); if the split changed on purpose, recreate it with `{UPDATE_HINT}`"
        )


def changed_params(old: dict[str, Any], new: dict[str, Any], prefix: str = "") -> list[str]:
    """Dotted keys whose value differs: shown with the table, so a reviewer sees what was changed."""
    changed = []
    for key in sorted(set(old) | set(new), key=str):
        a, b = old.get(key), new.get(key)
        if isinstance(a, dict) and isinstance(b, dict):
            changed += changed_params(a, b, f"{prefix}{key}.")
        elif a != b:
            changed.append(f"{prefix}{key}: {a!r} -> {b!r}")
    return changed
