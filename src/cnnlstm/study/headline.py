"""The headline metrics DVC shows (`dvc metrics show/diff`, `dvc exp show`), taken from the summary.

DVC prints one row per metrics file and one column per distinct key over all of them, and
`dvc exp show` prefixes a key with its file's path only when two files share it. So the headline is
two parts, each fitting a 200-column screen:
- ACCURACY, {model: mean held-out accuracy}: one short column per model, unique, so `dvc exp show`
  fits every model; all the accuracies form one block in `dvc metrics diff`.
- PER_MODEL/<model>.json, {"acc_std", "test_acc"}: one row per model under two shared columns, and
  for the best model (held-out accuracy) and the proposed one (params model.name) a `role` column that
  marks them: `dvc metrics show metrics/models` is a 70-character table that names both.
One file keyed `<model>.<metric>` would print as one row of 27 columns, over 600 characters wide.
`dvc metrics diff` sorts the keys within a file but takes the files in an arbitrary order (a set).
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

from cnnlstm.core.atomic import atomic_dir, write_json

ACCURACY = Path("metrics/accuracy.json")
PER_MODEL = Path("metrics/models")


def roles(summary: dict[str, Any], name: str) -> str | None:
    """"best", "proposed", "best, proposed" or None: what marks model `name` in `dvc metrics show`."""
    marked = [role for role in ("best", "proposed") if summary[f"{role}_model"] == name]
    return ", ".join(marked) or None


def headline(summary: dict[str, Any]) -> tuple[dict[str, float], dict[str, dict[str, Any]]]:
    """({model: held-out accuracy mean over folds}, {model: {"acc_std": std over folds,
    "test_acc": fold-ensemble test accuracy, "role" where it has one}}) of every model in
    metrics/summary.json's content. The role is text: `dvc metrics show` prints it, `dvc metrics
    diff` (numbers only) leaves it out."""
    models = summary["models"]
    accuracy = {name: entry["cv"]["accuracy"]["mean"] for name, entry in models.items()}
    per_model: dict[str, dict[str, Any]] = {}
    for name, entry in models.items():
        per_model[name] = {"acc_std": entry["cv"]["accuracy"]["std"], "test_acc": entry["test_ensemble"]["accuracy"]}
        role = roles(summary, name)
        if role is not None:
            per_model[name]["role"] = role
    return accuracy, per_model


def write_headline(summary: dict[str, Any], accuracy_path: Path = ACCURACY, per_model_dir: Path = PER_MODEL) -> None:
    """Write both parts; the per-model folder is replaced whole, so a model no longer studied
    leaves no stale row in `dvc metrics show`."""
    accuracy, per_model = headline(summary)
    write_json(accuracy_path, accuracy)
    with atomic_dir(per_model_dir) as tmp:
        for name, metrics in per_model.items():
            write_json(tmp / f"{name}.json", metrics)
