"""Profiles: a params overlay (e.g. profiles/smoke.yaml) deep-merged onto params.yaml."""

from __future__ import annotations

import copy
import hashlib
import json
from pathlib import Path
from typing import Any

import yaml

from cnnlstm.core.errors import CnnLstmError
from cnnlstm.core.params import parse_params, read_yaml


def load_mapping(path: str | Path) -> dict[str, Any]:
    """A YAML file that must hold a mapping; errors name the file."""
    data = read_yaml(path)
    if not isinstance(data, dict):
        raise CnnLstmError(f"{path}: must hold a mapping, got {type(data).__name__}")
    return data


def deep_merge(base: dict[str, Any], overlay: dict[str, Any]) -> dict[str, Any]:
    """`base` with `overlay` on top: mappings merge key by key, anything else (lists too) replaces."""
    merged = copy.deepcopy(base)
    for key, value in overlay.items():
        if isinstance(value, dict) and isinstance(merged.get(key), dict):
            merged[key] = deep_merge(merged[key], value)
        else:
            merged[key] = copy.deepcopy(value)
    return merged


def profiled_params(params_file: str | Path, profile_file: str | Path) -> dict[str, Any]:
    """params.yaml with the profile applied, validated like params.yaml itself."""
    merged = deep_merge(load_mapping(params_file), load_mapping(profile_file))
    parse_params(merged, f"{params_file} + {profile_file}")
    return merged


def write_params(repo: str | Path, params: dict[str, Any]) -> None:
    """Make `repo` (a throwaway copy) a study of its own: profiled params.yaml and no dvc.lock. The
    copied lock records the full study's runs, which these params never make, and DVC parses it
    again and again per command (0.24 MB: it was most of a smoke-sized study's DVC time)."""
    (Path(repo) / "params.yaml").write_text(yaml.safe_dump(params, sort_keys=False))
    (Path(repo) / "dvc.lock").unlink(missing_ok=True)


def protocol_sha256(profile: dict[str, Any], params: dict[str, Any]) -> str:
    """Identifies the measurement protocol: the profile itself plus the profiled params that say
    which images, folds and test slice are scored. Metrics of different protocols cannot be compared.
    Training and model settings are left out on purpose: changing them is what the gate judges."""
    protocol = {
        "profile": profile,
        "cv": params.get("cv"),
        "eval.test_subset": (params.get("eval") or {}).get("test_subset"),
    }
    return hashlib.sha256(json.dumps(protocol, sort_keys=True).encode()).hexdigest()
