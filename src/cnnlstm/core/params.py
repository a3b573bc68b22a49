"""params.yaml: loading, and validation that names the offending key in one line."""

from __future__ import annotations

import dataclasses
import math
import os
import re
from pathlib import Path
from typing import Any

import yaml

from cnnlstm.core.errors import CnnLstmError
from cnnlstm.core.model_configs import parse_config
from cnnlstm.core.schema import check_choice, check_type, from_dict

SECTIONS = ("data", "cv", "train", "model", "models", "study", "eval")
DEVICES = ("auto", "cpu", "cuda")
PRECISIONS = ("auto", "bf16", "fp32")
# A typo guard, not a tuning limit: the study uses 0.003, and a rate that merely diverges (even 50)
# is caught by training itself (training/loop.py), with the epoch and the loss.
MAX_LR = 100.0
TRAIN_PER_CLASS = 6000  # Fashion-MNIST's training set: 6,000 images of each of its 10 classes
TEST_IMAGES = 10_000  # its official test set, 1,000 of each class
NUM_CLASSES = 10
MAX_SEED = 2**32 - 1  # scikit-learn's and NumPy's random_state range
# Model names become stage names, folders (models/<name>/) and command-line arguments: lowercase
# letters, digits and underscores, starting with a letter, at most 40 characters.
MODEL_NAME = re.compile(r"[a-z][a-z0-9_]{0,39}")


def check_seed(key: str, seed: int) -> None:
    if not 0 <= seed <= MAX_SEED:
        raise CnnLstmError(f"{key}: must be in 0..{MAX_SEED}, got {seed}")


def check_model_name(key: str, name: str) -> None:
    if not MODEL_NAME.fullmatch(name):
        raise CnnLstmError(
            f"{key}: {name!r} is not a model name (lowercase letters, digits and _, starting with a letter, "
            f"at most 40 characters: it names folders, stages and command-line arguments)"
        )


def usable_cores() -> int:
    """CPU cores this process may run on (a container or taskset may allow fewer than the machine has)."""
    return len(os.sched_getaffinity(0)) if hasattr(os, "sched_getaffinity") else os.cpu_count() or 1


def _check_runtime_keys(section: str, device: str, precision: str) -> None:
    if device != "cuda" and precision != "bf16":
        return  # nothing this machine could lack; torch (seconds to import) not needed
    from cnnlstm.core.runtime import check_precision, resolve_device

    check_precision(section, resolve_device(section, device), precision)

@dataclasses.dataclass(frozen=True)
class DataParams:
    source: str | None  # folder holding the four .gz files; None: search the usual places


@dataclasses.dataclass(frozen=True)
class CvParams:
    folds: int
    seed: int
    fold_ids: tuple[int, ...]
    subset: float  # stratified fraction of the training images used at all (smoke runs)

    def __post_init__(self) -> None:
        check_seed("cv.seed", self.seed)
        if self.folds < 2:
            raise CnnLstmError(f"cv.folds: must be at least 2, got {self.folds}")
        if not 0.0 < self.subset <= 1.0:
            raise CnnLstmError(f"cv.subset: must be in (0, 1], got {self.subset}")
        if list(self.fold_ids) != list(range(self.folds)):
            raise CnnLstmError(
                f"cv.fold_ids: must list 0..{self.folds - 1} to match cv.folds, got {list(self.fold_ids)}"
            )


@dataclasses.dataclass(frozen=True)
class AugmentParams:
    crop_padding: int  # random crop after zero padding by this many pixels; 0: off
    hflip: bool
    erasing: float  # probability of erasing one random rectangle; 0: off

    def __post_init__(self) -> None:
        if self.crop_padding < 0:
            raise CnnLstmError(f"train.augment.crop_padding: must be >= 0, got {self.crop_padding}")
        if not 0.0 <= self.erasing <= 1.0:
            raise CnnLstmError(f"train.augment.erasing: must be in [0, 1], got {self.erasing}")


@dataclasses.dataclass(frozen=True)
class TrainParams:
    seed: int
    device: str  # auto | cpu | cuda
    precision: str  # auto: bf16 autocast where the hardware has it | bf16 | fp32
    threads: int  # CPU threads; 0: one per core
    cuda_graphs: bool  # on CUDA, capture the whole training step once and replay it; false: the same step eagerly
    epochs: int
    batch_size: int
    optimizer: str  # adamw | sgd
    lr: float
    schedule: str  # onecycle | cosine | constant
    weight_decay: float
    label_smoothing: float
    val_fraction: float  # carved from the training part of each fold, for epoch selection
    augment: AugmentParams

    def __post_init__(self) -> None:
        check_choice("train.device", self.device, DEVICES)
        check_choice("train.precision", self.precision, PRECISIONS)
        check_choice("train.optimizer", self.optimizer, ("adamw", "sgd"))
        check_choice("train.schedule", self.schedule, ("onecycle", "cosine", "constant"))
        check_seed("train.seed", self.seed)
        for key in ("epochs", "batch_size"):
            if getattr(self, key) <= 0:
                raise CnnLstmError(f"train.{key}: must be > 0, got {getattr(self, key)}")
        cores = usable_cores()
        if not 0 <= self.threads <= cores:
            raise CnnLstmError(f"train.threads: must be in 0..{cores} (0: one per core; this machine lets "
                               f"this process use {cores} cores), got {self.threads}")
        if not 0 < self.lr <= MAX_LR:
            raise CnnLstmError(f"train.lr: must be > 0 and at most {MAX_LR:g}, got {self.lr}")
        if self.weight_decay < 0:
            raise CnnLstmError(f"train.weight_decay: must be >= 0, got {self.weight_decay}")
        if not 0.0 <= self.label_smoothing < 1.0:
            raise CnnLstmError(f"train.label_smoothing: must be in [0, 1), got {self.label_smoothing}")
        if not 0.0 < self.val_fraction < 0.5:
            raise CnnLstmError(f"train.val_fraction: must be in (0, 0.5), got {self.val_fraction}")


@dataclasses.dataclass(frozen=True)
class EvalParams:
    device: str  # auto | cpu | cuda
    precision: str  # of inference: fp32 gives the same metrics on every CPU; auto | bf16 trade that for speed
    batch_size: int  # 128-256 keep activations in the CPU cache; 1,000 is 0.85x as fast
    test_subset: float  # stratified fraction of the official test set evaluated (smoke runs)
    tsne_per_class: int  # test images per class whose features are kept for t-SNE

    def __post_init__(self) -> None:
        check_choice("eval.device", self.device, DEVICES)
        check_choice("eval.precision", self.precision, PRECISIONS)
        if self.batch_size <= 0:
            raise CnnLstmError(f"eval.batch_size: must be > 0, got {self.batch_size}")
        if not 0.0 < self.test_subset <= 1.0:
            raise CnnLstmError(f"eval.test_subset: must be in (0, 1], got {self.test_subset}")
        kept = math.floor(self.test_subset * TEST_IMAGES)  # evaluation/sampling.py's stratified split
        if self.test_subset < 1.0 and not NUM_CLASSES <= kept <= TEST_IMAGES - NUM_CLASSES:
            least, most = NUM_CLASSES / TEST_IMAGES, 1 - NUM_CLASSES / TEST_IMAGES
            raise CnnLstmError(f"eval.test_subset: {self.test_subset} keeps {kept} of the {TEST_IMAGES:,} test images; "
                               f"a stratified subset needs one of each class kept and left out: {least:g}..{most:g}, or 1.0")
        if self.tsne_per_class <= 0:
            raise CnnLstmError(f"eval.tsne_per_class: must be > 0, got {self.tsne_per_class}")


TTEST_TRAIN_SIZES = ("fitted", "training_part")


@dataclasses.dataclass(frozen=True)
class AnalysisParams:
    """The pre-registered analysis (docs/preregistration.md says why each value)."""

    primary: tuple[str, ...]  # (model, baseline): the one primary comparison, not multiplicity-adjusted
    ttest_train_size: str  # n_train of the corrected t-test: fitted (the images a model learns from) | training_part
    main_models: tuple[str, ...]  # trained again for the convergence check and the seeds
    seeds: tuple[int, ...]  # train.seed values of the main comparison at the converged budget; the first is the study's
    convergence_epochs: int  # the shorter budget of the convergence check
    convergence_tolerance: float  # converged: mean paired gain from convergence_epochs to train.epochs below this

    def __post_init__(self) -> None:
        if len(self.primary) != 2 or self.primary[0] == self.primary[1]:
            raise CnnLstmError(f"study.primary: must be [model, baseline], two different models, got {list(self.primary)}")
        check_choice("study.ttest_train_size", self.ttest_train_size, TTEST_TRAIN_SIZES)
        if len(set(self.seeds)) != len(self.seeds) or len(self.seeds) < 1:
            raise CnnLstmError(f"study.seeds: must be distinct training seeds, got {list(self.seeds)}")
        if self.convergence_epochs <= 0:
            raise CnnLstmError(f"study.convergence_epochs: must be > 0, got {self.convergence_epochs}")
        if not 0.0 < self.convergence_tolerance < 1.0:
            raise CnnLstmError(f"study.convergence_tolerance: must be in (0, 1), got {self.convergence_tolerance}")


@dataclasses.dataclass(frozen=True)
class Params:
    data: DataParams
    cv: CvParams
    train: TrainParams
    eval: EvalParams
    model: dict[str, Any]  # the proposed hybrid: its `name` plus its family's config
    models: dict[str, dict[str, Any]]  # every other model of the study, by name
    study: tuple[str, ...]  # names compared against the proposed model
    equivalence_margin: float  # study.equivalence_margin: |difference| below it counts as equivalent (TOST)
    analysis: AnalysisParams  # the rest of `study:`, the pre-registered analysis
    configs: dict[str, tuple[str, Any]]  # every model's (family, validated config), parsed once

    @property
    def all_models(self) -> tuple[str, ...]:
        """Every trained model: the study's list, then the proposed hybrid."""
        return (*self.study, self.model["name"])

    def model_section(self, name: str) -> str:
        """The params key holding model `name`, for error messages."""
        return "model" if name == self.model["name"] else f"models.{name}"

    def model_spec(self, name: str) -> dict[str, Any]:
        """The params entry of model `name` (its family and config)."""
        if name == self.model["name"]:
            return {k: v for k, v in self.model.items() if k != "name"}
        if name in self.models:
            return dict(self.models[name])
        known = ", ".join(sorted([*self.models, self.model["name"]]))
        raise CnnLstmError(f"unknown model {name!r}; known models: {known}")


def check_devices(params: Params, source: str = "params.yaml") -> None:
    """train.device/precision and eval.device/precision must exist on this machine: `cuda` without a
    GPU, `bf16` without hardware support are errors naming their own key. Called by the stages that
    use a device, train checking eval's too, so no model trains for an evaluation that cannot run;
    not by parse_params: a study trained on a GPU still aggregates and reports on a CPU."""
    try:
        for name, section in (("train", params.train), ("eval", params.eval)):
            _check_runtime_keys(name, section.device, section.precision)
    except CnnLstmError as exc:
        raise CnnLstmError(f"{source}: {exc}") from None


def parse_params(raw: Any, source: str = "params.yaml") -> Params:
    """Validate the whole params mapping. Errors carry `source` and the offending key."""
    try:
        return _parse(raw)
    except CnnLstmError as exc:
        raise CnnLstmError(f"{source}: {exc}") from None


def _parse(raw: Any) -> Params:
    if not isinstance(raw, dict):
        raise CnnLstmError("top level must be a mapping")
    unknown = sorted(set(raw) - set(SECTIONS))
    if unknown:
        raise CnnLstmError(f"unknown top-level key {unknown[0]!r}; known keys: {', '.join(SECTIONS)}")
    model = raw.get("model")
    if not isinstance(model, dict) or not isinstance(model.get("name"), str):
        raise CnnLstmError("model: must be a mapping with a string `name` (the proposed hybrid)")
    check_model_name("model.name", model["name"])
    models = raw.get("models") or {}
    if not isinstance(models, dict) or not all(isinstance(v, dict) for v in models.values()):
        raise CnnLstmError("models: must map each model name to its config mapping")
    for name in models:
        check_model_name(f"models.{name}", str(name))
    if model["name"] in models:
        raise CnnLstmError(f"models.{model['name']}: clashes with model.name (the proposed hybrid)")
    for section in SECTIONS:
        if section not in raw:
            raise CnnLstmError(f"{section}: missing")
    study = raw["study"]
    if not isinstance(study, dict) or not {"models", "equivalence_margin"} <= set(study):
        raise CnnLstmError("study: must be a mapping with the keys `models`, `equivalence_margin` and the analysis")
    analysis = from_dict(AnalysisParams, {k: v for k, v in study.items() if k not in ("models", "equivalence_margin")},
                         "study")
    margin = check_type("study.equivalence_margin", study["equivalence_margin"], float)
    if not 0.0 < margin < 1.0:
        raise CnnLstmError(f"study.equivalence_margin: must be in (0, 1), got {margin}")
    study = check_type("study.models", study["models"], tuple[str, ...])
    _check_study(study, model["name"], models)
    params = Params(
        data=from_dict(DataParams, raw.get("data"), "data"),
        cv=from_dict(CvParams, raw.get("cv"), "cv"),
        train=from_dict(TrainParams, raw.get("train"), "train"),
        eval=from_dict(EvalParams, raw.get("eval"), "eval"),
        model=dict(model),
        models={k: dict(v) for k, v in models.items()},
        study=study,
        equivalence_margin=margin,
        analysis=analysis,
        configs={},
    )
    _check_subset(params.cv, params.train)
    _check_batch_size(params.cv, params.train)
    for name in params.all_models:  # every model config, before any stage does work
        params.configs[name] = parse_config(params.model_spec(name), params.model_section(name))
    configured = {*params.models, params.model["name"]}
    for key in ("primary", "main_models"):
        unknown = [m for m in getattr(analysis, key) if m not in configured]
        if unknown:
            raise CnnLstmError(f"study.{key}: unknown model {unknown[0]!r}; known models: {', '.join(sorted(configured))}")
    return params


def _check_study(study: tuple[str, ...], proposed: str, models: dict[str, Any]) -> None:
    """At least one model to compare with, each listed once and configured under `models`."""
    if not study:
        raise CnnLstmError(f"study.models: empty; list at least one of the models to compare {proposed!r} with: "
                           f"{', '.join(models)}")
    for i, name in enumerate(study):
        check_model_name(f"study.models[{i}]", name)
        if name == proposed:  # its own train/evaluate stages would clash with the study's in DVC
            raise CnnLstmError(
                f"study.models: lists {proposed!r}, the proposed model (model.name), which is always trained; remove it"
            )
        if name not in models:
            raise CnnLstmError(f"study.models[{i}]: unknown model {name!r}; known models: {', '.join(models)}")
        if name in study[:i]:
            raise CnnLstmError(f"study.models: lists {name!r} twice")


def smallest_fit_part(cv: CvParams, val_fraction: float) -> int:
    """Images the smallest fold trains on (its training part less the epoch-selection slice).

    A lower bound following the splits' arithmetic: the subset keeps floor(subset x 60,000) images,
    at least kept // 10 of each class (stratified); a held-out fold takes at most ceil(c / folds) of
    a class with c images (StratifiedKFold); training/run.py's stratified split takes
    ceil(val_fraction x n) of the n images left for validation (scikit-learn's rounding)."""
    total = TRAIN_PER_CLASS * NUM_CLASSES
    kept = total if cv.subset >= 1.0 else math.floor(cv.subset * total)
    per_class = kept // NUM_CLASSES
    train_part = NUM_CLASSES * (per_class - math.ceil(per_class / cv.folds))
    return train_part - math.ceil(val_fraction * train_part)


def _check_batch_size(cv: CvParams, train: TrainParams) -> None:
    """A batch larger than a fold's training images would give epochs of zero steps."""
    fit = smallest_fit_part(cv, train.val_fraction)
    if train.batch_size > fit:
        raise CnnLstmError(
            f"train.batch_size: {train.batch_size} is more than the {fit:,} images the smallest fold trains on "
            f"(cv.folds {cv.folds}, cv.subset {cv.subset:g}, train.val_fraction {train.val_fraction:g}); "
            f"at most {fit}"
        )


def _per_class_minimum(per_class: int, folds: int, val_fraction: float) -> int:
    """Guaranteed images of each class in every held-out fold and every epoch-selection slice, when the
    subset holds at least `per_class` of each class.

    Follows the splits' arithmetic: a held-out fold gets floor(c / folds) of a class with c images
    (StratifiedKFold); the rest, at least c - ceil(c / folds), is the training part, of which
    training/run.py's stratified split gives each class at least floor(val_fraction * its count). Exact
    up to scikit-learn's handing out of rounding remainders, which can only add images."""
    train_part = per_class - math.ceil(per_class / folds)
    return min(per_class // folds, math.floor(val_fraction * train_part))


def _check_subset(cv: CvParams, train: TrainParams) -> None:
    """Every class must appear in every fold's held-out part and epoch-selection slice."""
    total = TRAIN_PER_CLASS * NUM_CLASSES
    kept = total if cv.subset >= 1.0 else math.floor(cv.subset * total)  # data/folds.py's stratified split
    if total - kept < NUM_CLASSES and kept < total:  # scikit-learn needs a class-covering remainder
        raise CnnLstmError(f"cv.subset: {cv.subset} leaves fewer than {NUM_CLASSES} images out; use 1.0")
    if _per_class_minimum(kept // NUM_CLASSES, cv.folds, train.val_fraction) >= 1:
        return
    needed = next(c for c in range(1, TRAIN_PER_CLASS + 1) if _per_class_minimum(c, cv.folds, train.val_fraction) >= 1)
    raise CnnLstmError(
        f"cv.subset: {cv.subset} leaves a class out of a held-out fold or of its train.val_fraction slice "
        f"({kept // NUM_CLASSES} images per class, {cv.folds} folds); needs at least "
        f"{math.ceil(needed / TRAIN_PER_CLASS * 1e6) / 1e6:g}"
    )


class _UniqueKeyLoader(yaml.SafeLoader):
    """safe_load that refuses a key given twice in one mapping: YAML keeps the last one silently, so a
    second `train:` section would replace the first unnoticed."""

    def construct_mapping(self, node: yaml.MappingNode, deep: bool = False) -> dict[Any, Any]:
        seen = set()
        for key_node, _ in node.value:
            key = self.construct_object(key_node, deep=deep)
            if key in seen:
                raise CnnLstmError(f"key {key!r} given twice (line {key_node.start_mark.line + 1})")
            seen.add(key)
        return super().construct_mapping(node, deep=deep)


def read_yaml(path: str | Path) -> Any:
    """Parse a YAML file; a missing, malformed or non-UTF-8 file, or one with a key given twice, is a
    one-line error naming it."""
    path = Path(path)
    try:
        return yaml.load(path.read_text(), Loader=_UniqueKeyLoader)  # noqa: S506 (a SafeLoader)
    except FileNotFoundError:
        raise CnnLstmError(f"{path}: file not found") from None
    except UnicodeDecodeError as exc:
        raise CnnLstmError(f"{path}: not UTF-8 text ({exc.reason} at byte {exc.start})") from None
    except CnnLstmError as exc:
        raise CnnLstmError(f"{path}: {exc}") from None
    except yaml.YAMLError as exc:
        raise CnnLstmError(f"{path}: not valid YAML ({str(exc).splitlines()[0]})") from None


def load_params(path: str | Path = "params.yaml") -> Params:
    return parse_params(read_yaml(path), str(path))
