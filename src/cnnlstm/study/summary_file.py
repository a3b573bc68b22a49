"""Reading metrics/summary.json of a study that may still be between sittings."""

from __future__ import annotations

from pathlib import Path
from typing import Any

from cnnlstm.core.jsonio import read_json, read_summary


def read_study_summary(path: Path, models: tuple[str, ...]) -> tuple[dict[str, Any], tuple[str, ...]]:
    """(metrics/summary.json, the models it reports incomplete): it must summarise every other model of
    `models` (a study between sittings leaves some incomplete: `aggregate --incomplete`)."""
    incomplete = tuple(read_json(path).get("incomplete", {}))
    return read_summary(path, tuple(model for model in models if model not in incomplete)), incomplete
