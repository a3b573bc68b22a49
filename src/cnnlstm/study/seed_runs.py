"""Seed-variance runs: one study point's folds trained again with other training seeds, kept as verbatim
copies of each run's files (scripts/keep_seed.sh) in metrics/seeds/<point>/seed<s>/:
params.yaml, summary.json, runs/<model>/fold<k>.json (metrics/runs) and train/<model>/fold<k>.json
(logs/train/.../run.json). Loaded with every check that the copies belong together."""

from __future__ import annotations

import re
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np

from cnnlstm.core.errors import CnnLstmError
from cnnlstm.core.jsonio import read_json
from cnnlstm.core.params import read_yaml
from cnnlstm.study.budget import POINT_NAME
from cnnlstm.study.questions import QUESTIONS

SEED_NAME = re.compile(r"seed(\d+)")
FOLD_NAME = re.compile(r"fold(\d+)")


@dataclass(frozen=True)
class SeedStudy:
    point: str  # the budget point's name, e.g. 2ep-cpu
    seeds: tuple[int, ...]  # train.seed of each repetition
    folds: tuple[int, ...]
    heldout: dict[str, np.ndarray]  # model -> held-out accuracy, shape (folds, seeds)
    pairs: dict[str, dict[str, tuple[str, str]]]  # question -> {key: (model, baseline)}, both models present
    conditions: dict[str, Any]  # the same for every seed
    margin: float
    n_train: float
    n_test: float
    proposed: str  # the proposed model (params model.name), for the figure


def _seed_params(folder: Path) -> dict[str, Any]:
    """A seed folder's params.yaml, with the sections the checks compare."""
    params = read_yaml(folder / "params.yaml")
    missing = [key for key in ("cv", "train", "model", "models") if not isinstance((params or {}).get(key), dict)]
    if missing:
        raise CnnLstmError(f"{folder}/params.yaml: no `{missing[0]}` section; copy it with scripts/keep_seed.sh")
    return params


def _seed_folders(point: Path) -> tuple[dict[int, Path], dict[int, dict[str, Any]]]:
    """The seed folders of a point and their params, by train.seed."""
    folders, params = {}, {}
    for folder in sorted(p for p in point.iterdir() if p.is_dir()):
        match = SEED_NAME.fullmatch(folder.name)
        if match is None:
            raise CnnLstmError(f"{folder}: seed folders are named seed<train.seed>, e.g. seed1")
        seed = int(match.group(1))
        params[seed] = _seed_params(folder)
        if params[seed]["train"].get("seed") != seed:
            raise CnnLstmError(f"{folder}/params.yaml: train.seed is {params[seed]['train'].get('seed')}, "
                               f"the folder says {seed}")
        folders[seed] = folder
    if len(folders) < 2:
        raise CnnLstmError(f"{point}: {len(folders)} seed folder(s); seed variance needs at least 2 (seed<s>/)")
    return dict(sorted(folders.items())), params


def _same_recipe(folders: dict[int, Path], params: dict[int, dict[str, Any]],
                 summaries: dict[int, dict[str, Any]]) -> None:
    """Every seed trained the same folds under the same conditions and settings, except train.seed."""
    first = next(iter(folders))
    reference = params[first]
    for seed, folder in folders.items():
        for section in ("cv", "train"):
            ours, theirs = params[seed][section], reference[section]
            differing = sorted(k for k in set(ours) | set(theirs) if k != "seed" and ours.get(k) != theirs.get(k))
            if differing:
                raise CnnLstmError(f"{folder}/params.yaml: {section}.{differing[0]} differs from seed{first}'s")
        for key in ("conditions", "folds_sha256", "fold_sizes", "equivalence_margin"):
            if summaries[seed][key] != summaries[first][key]:
                raise CnnLstmError(f"{folder}/summary.json: `{key}` differs from seed{first}'s")


def _same_models(folders: dict[int, Path], params: dict[int, dict[str, Any]], models: list[str]) -> None:
    """Each model was the same architecture in every seed (the proposed one lives under `model:`)."""
    def config(p: dict[str, Any], model: str) -> Any:
        return p["model"] if p["model"].get("name") == model else p["models"].get(model)

    first = next(iter(folders))
    for seed, folder in folders.items():
        for model in models:
            if config(params[seed], model) != config(params[first], model):
                raise CnnLstmError(f"{folder}/params.yaml: model {model}'s config differs from seed{first}'s")


def _fold_files(folder: Path, model: str) -> dict[int, Path]:
    matches = ((FOLD_NAME.fullmatch(p.stem), p) for p in (folder / "runs" / model).glob("*.json"))
    return {int(m.group(1)): p for m, p in matches if m is not None}


def _heldout(folders: dict[int, Path], model: str, folds: tuple[int, ...], folds_sha: str) -> np.ndarray:
    """(folds, seeds) held-out accuracy; every fold's runs must have different training seeds."""
    values = np.empty((len(folds), len(folders)))
    for j, folder in enumerate(folders.values()):
        for i, fold in enumerate(folds):
            run = read_json(folder / "runs" / model / f"fold{fold}.json", folds_sha)
            values[i, j] = run["heldout"]["accuracy"]
    for fold in folds:
        derived = [read_json(f / "train" / model / f"fold{fold}.json")["seed"] for f in folders.values()]
        if len(set(derived)) != len(derived):
            raise CnnLstmError(f"{model} fold {fold}: two seed folders hold runs trained with the same seed "
                               f"({derived}); copy each experiment once")
    return values


def load_seed_study(point: Path) -> SeedStudy:
    """The seed runs of one point: models present in every seed (all their folds), pairs among them."""
    match = POINT_NAME.fullmatch(point.name)
    if match is None:
        raise CnnLstmError(f"{point}: seed points are named like budget points, <epochs>ep or <epochs>ep-<tag>")
    folders, params = _seed_folders(point)
    summaries = {seed: read_json(folder / "summary.json") for seed, folder in folders.items()}
    _same_recipe(folders, params, summaries)
    first = summaries[next(iter(summaries))]
    if first["conditions"]["epochs"] != int(match.group(1)):
        raise CnnLstmError(f"{point}: named {match.group(1)} epochs, its runs trained for {first['conditions']['epochs']}")
    models = [m for m in first["models"] if all(m in summaries[s]["models"] and (f / "runs" / m).is_dir()
                                                for s, f in folders.items())]
    if not models:
        raise CnnLstmError(f"{point}: no model has runs in every seed folder")
    _same_models(folders, params, models)
    folds = tuple(sorted(_fold_files(next(iter(folders.values())), models[0])))
    for seed, folder in folders.items():
        for model in models:
            if tuple(sorted(_fold_files(folder, model))) != folds:
                raise CnnLstmError(f"{folder}/runs/{model}: folds {sorted(_fold_files(folder, model))}, "
                                   f"seed{next(iter(folders))} has {list(folds)}")
    heldout = {m: _heldout(folders, m, folds, first["folds_sha256"]) for m in models}
    pairs: dict[str, dict[str, tuple[str, str]]] = {}
    order = [q.key for q in QUESTIONS]  # the report's order, whatever the summary's
    for question, entries in sorted(first["comparisons"].items(), key=lambda item: order.index(item[0])):
        present = {k: (e["model"], e["baseline"]) for k, e in entries.items()
                   if e["model"] in heldout and e["baseline"] in heldout}
        if present:
            pairs[question] = present
    return SeedStudy(point.name, tuple(folders), folds, heldout, pairs, first["conditions"],
                     first["equivalence_margin"], first["fold_sizes"]["train"], first["fold_sizes"]["heldout"],
                     first["proposed_model"])


def load_seed_studies(folder: Path) -> list[SeedStudy]:
    """Every point in metrics/seeds/, ordered by epochs."""
    points = sorted((p for p in folder.iterdir() if p.is_dir()), key=lambda p: p.name) if folder.is_dir() else []
    if not points:
        raise CnnLstmError(f"{folder}: no seed points (<point>/seed<s>/); see docs/budget.md")
    studies = [load_seed_study(p) for p in points]
    return sorted(studies, key=lambda s: (s.conditions["epochs"], s.point))
