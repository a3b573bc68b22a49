"""Where a set of fold models came from, read from the run records, and whether it is the study's.

A fold ensemble is the study's model only when it has every fold (cv.folds) and was trained and
evaluated on the whole data (cv.subset = eval.test_subset = 1). Anything else (an interrupted
`make repro`, a smoke or small-slice experiment in the workspace) predicts worse than the report
says, so `predict` and the ship stage refuse it unless asked explicitly.

The records: metrics/runs/<name>/fold<k>.json (the evaluate stage: held-out and test image counts,
the fold split's sha256) and logs/train/<name>/fold<k>/run.json (the train stage: the recipe).
"""

from __future__ import annotations

import dataclasses
import hashlib
import json
import subprocess
from pathlib import Path
from typing import Any

import yaml

# The official Fashion-MNIST split sizes: a run's image counts over these give its data slice.
FULL_TRAIN_IMAGES = 60_000
FULL_TEST_IMAGES = 10_000
RECIPE_KEYS = ("epochs", "batch_size", "lr", "augment", "amp", "device")  # of the train stage's run.json


@dataclasses.dataclass(frozen=True)
class Provenance:
    folds: tuple[int, ...]           # the folds whose models are in the ensemble
    cv_folds: int | None             # folds of the study design (summary `folds`); None: unknown
    cv_subset: float | None          # fraction of the training images the folds were cut from
    test_subset: float | None        # fraction of the official test set evaluated
    recipe: dict[str, Any] | None    # the train stage's record of fold models[0]
    commit: str                      # the git commit whose dvc.lock records these files, or why none

    def as_dict(self) -> dict[str, Any]:
        return dataclasses.asdict(self)

    @classmethod
    def from_dict(cls, data: dict[str, Any]) -> Provenance:
        return cls(**{**data, "folds": tuple(data["folds"])})

    def describe(self) -> str:
        """One line for the user: recipe, data slice, folds, commit."""
        return f"{_recipe_text(self.recipe)}; data: {_slice_text(self)}; commit: {self.commit}"

    def refusal(self, allow_partial: bool, allow_slice: bool) -> tuple[str, str] | None:
        """(why this is not the study's model, the predict flag that accepts it); None if it is
        the study's model or the user accepted what it is."""
        if not allow_partial and (self.cv_folds is None or len(self.folds) < self.cv_folds):
            of = f"of {self.cv_folds}" if self.cv_folds is not None else "of an unknown number of"
            return f"a partial ensemble ({len(self.folds)} {of} fold models)", "--allow-partial"
        if not allow_slice and (self.cv_subset != 1.0 or self.test_subset != 1.0):
            return f"not trained on the whole data ({_slice_text(self)})", "--allow-slice"
        return None


def _recipe_text(recipe: dict[str, Any] | None) -> str:
    if recipe is None:
        return "recipe unknown (no train record)"
    augment = recipe.get("augment") or {}
    aug = "augmentation on" if any(augment.values()) else "no augmentation"
    return (f"{recipe.get('epochs')} epochs, batch {recipe.get('batch_size')}, lr {recipe.get('lr')}, "
            f"{aug}, {recipe.get('amp')} on {recipe.get('device')}")


def _percent(fraction: float | None) -> str:
    return "unknown" if fraction is None else f"{100 * fraction:g}%"


def _slice_text(p: Provenance) -> str:
    of = p.cv_folds if p.cv_folds is not None else "?"
    return (f"{_percent(p.cv_subset)} of the training images (cv.subset), {len(p.folds)} of {of} folds, "
            f"{_percent(p.test_subset)} of the test set (eval.test_subset)")


def _read(path: Path) -> dict[str, Any] | None:
    try:
        data = json.loads(path.read_text())
    except (OSError, ValueError):
        return None
    return data if isinstance(data, dict) else None


def _git(*args: str) -> str | None:
    try:
        done = subprocess.run(["git", *args], capture_output=True, text=True, check=True)
    except (OSError, subprocess.CalledProcessError):
        return None
    return done.stdout.strip()


def _locked_md5s(lock: Path) -> dict[str, str]:
    try:
        stages = yaml.safe_load(lock.read_text())["stages"]
    except (OSError, yaml.YAMLError, KeyError, TypeError):
        return {}
    return {out["path"]: out.get("md5", "") for stage in stages.values() for out in stage.get("outs", [])}


def head_commit() -> str:
    """The checkout's commit: the code a stage runs (the ship stage records it)."""
    return _git("rev-parse", "--short", "HEAD") or "unknown (not a git checkout)"


# What the study's outputs are made from: code, stage scripts, parameters, the pipeline.
CODE_PATHS = ("src", "stages", "params.yaml", "dvc.yaml")


def code_version() -> str:
    """The last commit that changed the code or parameters, and its date. Unlike HEAD (the commit
    that will hold the outputs, which they cannot name), a rerun in any clone of that state stamps
    the same line, so a report can be reproduced byte for byte."""
    last = _git("log", "-1", "--format=%H %cs", "--", *CODE_PATHS)
    if not last:
        return "unknown (not a git checkout)"
    commit, date = last.split()
    stamp = f"commit `{commit[:10]}` ({date})"
    dirty = _git("status", "--porcelain", "--", *CODE_PATHS)  # new files count: a clone lacks them
    return f"{stamp} plus uncommitted changes" if dirty else stamp


def commit_of(files: tuple[Path, ...], lock: Path) -> str:
    """The HEAD commit when its dvc.lock records exactly these files; else where they came from."""
    locked = _locked_md5s(lock)
    recorded = all(locked.get(f.as_posix()) == hashlib.md5(f.read_bytes()).hexdigest() for f in files)
    head = _git("rev-parse", "--short", "HEAD")
    if head is None:
        return "unknown (not a git checkout)"
    if not recorded:
        return f"none (not the files {lock} records at {head}: trained in the workspace, e.g. an experiment)"
    return head


def from_records(
    name: str, folds: tuple[int, ...], folds_sha256: str | None, runs_dir: Path, train_logs: Path, cv_folds: int | None
) -> tuple[float | None, float | None, dict[str, Any] | None]:
    """(cv_subset, test_subset, recipe) of model `name` from its run records; None where a record
    is missing or belongs to another fold split than the model files."""
    records = [_read(runs_dir / name / f"fold{k}.json") for k in folds]
    usable = [r for r in records if r is not None and r.get("folds_sha256") == folds_sha256]
    cv_subset = test_subset = None
    if usable and len(usable) == len(records) and cv_folds is not None:
        heldout = usable[0]["heldout"]["images"]  # folds partition the slice: equal up to rounding
        cv_subset = round(heldout * cv_folds / FULL_TRAIN_IMAGES, 3)
        test_subset = round(usable[0]["test"]["images"] / FULL_TEST_IMAGES, 3)
    run = _read(train_logs / name / f"fold{folds[0]}" / "run.json") if folds else None
    recipe = {key: run.get(key) for key in RECIPE_KEYS} if run is not None else None
    return cv_subset, test_subset, recipe
