"""All of params.yaml, every model config included, is validated before any stage does work:
finite numbers, sane ranges, and subsets that leave every class in every validation slice."""

from __future__ import annotations

import os
import re
import subprocess
import sys

import numpy as np
import pytest
import torch
import yaml

from cnnlstm.core.errors import CnnLstmError
from cnnlstm.core.params import EvalParams, check_devices, load_params, parse_params, smallest_fit_part
from cnnlstm.core.runtime import cpu_has_bf16, resolve_runtime
from cnnlstm.training.holdout import stratified_holdout
from cnnlstm.data.folds import assign_folds, fold_indices
from cnnlstm import timed_repro
from cnnlstm.evaluation import sampling
from conftest import REPO
from reliability_helpers import tiny_run


def rejects(params: dict, message: str) -> None:
    with pytest.raises(CnnLstmError, match=message) as error:
        parse_params(params)
    assert "\n" not in str(error.value)


@pytest.mark.parametrize("value", [float("nan"), float("inf"), float("-inf")])
@pytest.mark.parametrize(
    "keys",
    [("train", "lr"), ("train", "weight_decay"), ("train", "label_smoothing"), ("train", "val_fraction"),
     ("train", "augment", "erasing"), ("cv", "subset"), ("eval", "test_subset"), ("models", "cnn16", "dropout")],
)
def test_non_finite_numbers_name_their_key(base_params, keys, value):
    section = base_params
    for key in keys[:-1]:
        section = section[key]
    section[keys[-1]] = value
    rejects(base_params, re.escape(f"{'.'.join(keys)}: must be a finite number, got {value}"))


def test_learning_rate_has_a_documented_upper_bound(base_params):
    base_params["train"]["lr"] = 100
    parse_params(base_params)  # the bound itself is allowed; lr 50 is left to the divergence check
    base_params["train"]["lr"] = 101
    rejects(base_params, r"train.lr: must be > 0 and at most 100, got 101")


@pytest.mark.parametrize(
    ("model", "key", "value", "message"),
    [
        ("cnn16", "channels", [60000, 16], r"models.cnn16.channels: must be > 0 and at most 512, got \[60000, 16\]"),
        ("cnn16", "channels", [8] * 5, r"models.cnn16.channels: at most 4 conv blocks"),
        ("cnn16", "hidden", 4096, r"models.cnn16.hidden: must be > 0 and at most 512, got 4096"),
        ("lstm", "hidden", 100000, r"models.lstm.hidden: must be > 0 and at most 512"),
        ("lstm", "layers", 50, r"models.lstm.layers: must be > 0 and at most 8"),
        ("cnn32_bilstm2d", "blocks", 64, r"models.cnn32_bilstm2d.blocks: must be > 0 and at most 8"),
        ("cnn32_lstm_1xk", "kernel_width", 29, r"models.cnn32_lstm_1xk.kernel_width: must be an odd number below 28"),
    ],
)
def test_sizes_above_their_bound_are_rejected_for_any_model(base_params, model, key, value, message):
    base_params["models"][model][key] = value
    rejects(base_params, message)


def test_subset_too_small_for_the_folds_names_cv_subset(base_params):
    base_params["cv"].update(folds=2, fold_ids=[0, 1], subset=0.005)
    rejects(base_params, r"^params.yaml: cv.subset: 0.005 leaves a class out .* needs at least 0.006667$")


def test_smoke_profile_subset_is_accepted(base_params):
    base_params["cv"].update(folds=2, fold_ids=[0, 1], subset=0.02)
    parse_params(base_params)


@pytest.mark.parametrize(("folds", "val_fraction", "smallest"), [(2, 0.05, 0.006667), (10, 0.05, 0.003834)])
def test_smallest_accepted_subset_keeps_every_class_in_every_slice(base_params, folds, val_fraction, smallest):
    """The bound is the one the splits need: checked against data/folds.py and training/run.py's splits."""
    base_params["cv"].update(folds=folds, fold_ids=list(range(folds)), subset=smallest)
    base_params["train"]["val_fraction"] = val_fraction
    parse_params(base_params)
    labels = np.arange(60_000) % 10  # Fashion-MNIST's balance: 6,000 per class
    assignment = assign_folds(labels, folds, seed=0, subset=smallest)
    for fold in range(folds):
        train, held_out = fold_indices(assignment, fold)
        _, val = stratified_holdout(train, labels[train], val_fraction, seed=fold)
        assert len(np.unique(labels[held_out])) == len(np.unique(labels[val])) == 10


@pytest.mark.parametrize(("keys", "value", "message"), [
    (("cv", "seed"), -1, r"cv.seed: must be in 0..4294967295, got -1"),
    (("cv", "seed"), 2**32, r"cv.seed: must be in 0..4294967295"),
    (("train", "seed"), -5, r"train.seed: must be in 0..4294967295, got -5"),
    (("train", "epochs"), True, r"train.epochs: must be int, got True"),
    (("cv", "seed"), False, r"cv.seed: must be int, got False"),
    (("train", "batch_size"), 1.5, r"train.batch_size: must be int, got 1.5"),
    (("eval", "tsne_per_class"), "10", r"eval.tsne_per_class: must be int, got '10'"),
    (("train", "hflip"), 1, r"train: unknown key 'hflip'; known keys: augment, batch_size"),
    (("train", "augment", "hflip"), 1, r"train.augment.hflip: must be bool, got 1"),
    (("train", "threads"), 100_000, r"train.threads: must be in 0\.\.\d+ \(0: one per core; .*\), got 100000"),
    (("train", "threads"), -1, r"train.threads: must be in 0\.\.\d+"),
    (("eval", "test_subset"), 0.0001, r"eval.test_subset: 0.0001 keeps 1 of the 10,000 test images; .* 0.001..0.999, or 1.0"),
    (("eval", "test_subset"), 0.9995, r"eval.test_subset: 0.9995 keeps 9995 of the 10,000"),
    (("train", "batch_size"), 100_000, r"train.batch_size: 100000 is more than the 51,300 images the smallest fold trains on"),
])
def test_types_and_ranges_name_their_key(base_params, keys, value, message):
    section = base_params
    for key in keys[:-1]:
        section = section[key]
    section[keys[-1]] = value
    rejects(base_params, message)


def test_threads_up_to_the_usable_cores_are_accepted(base_params):
    base_params["train"]["threads"] = len(os.sched_getaffinity(0))
    parse_params(base_params)


@pytest.mark.parametrize("folds", [2, 3, 10])
def test_batch_size_bound_is_the_smallest_folds_training_images(base_params, folds):
    """The bound (smoke slice: 570) is what the splits give: checked against data/folds.py and training/run.py."""
    base_params["cv"].update(folds=folds, fold_ids=list(range(folds)), subset=0.02)
    labels = np.arange(60_000) % 10
    assignment = assign_folds(labels, folds, seed=0, subset=0.02)
    fits = []
    for fold in range(folds):
        train, _ = fold_indices(assignment, fold)
        fit, _ = stratified_holdout(train, labels[train], 0.05, seed=fold)
        fits.append(len(fit))
    bound = smallest_fit_part(parse_params(base_params).cv, 0.05)
    assert bound <= min(fits) and bound >= min(fits) - 10  # exact up to scikit-learn's remainders
    base_params["train"]["batch_size"] = bound
    parse_params(base_params)
    base_params["train"]["batch_size"] = bound + 1
    rejects(base_params, rf"train.batch_size: {bound + 1} is more than the {bound:,} images the smallest fold trains on")


@pytest.mark.parametrize("fraction", [0.001, 0.999])
def test_test_subset_at_its_bounds_keeps_every_class(fraction):
    EvalParams(device="cpu", precision="fp32", batch_size=8, test_subset=fraction, tsne_per_class=1)
    labels = np.arange(10_000) % 10
    assert len(np.unique(labels[sampling.test_subset(labels, fraction)])) == 10


@pytest.mark.parametrize("models", [[], ["cnn16", "cnn16"], ["cnn64"]])
def test_study_needs_distinct_configured_models(base_params, models):
    base_params["study"]["models"] = models
    message = {0: r"study.models: empty; list at least one of the models", 2: r"study.models: lists 'cnn16' twice",
               1: r"study.models\[0\]: unknown model 'cnn64'; known models: cnn16"}[len(models)]
    rejects(base_params, message)


@pytest.mark.parametrize("name", ["a b", "x/y", "../up", "-f", "Cnn", "9lives", "", "a" * 41, "a.b", "é"])
@pytest.mark.parametrize("where", ["model.name", "models", "study.models"])
def test_model_names_are_safe_path_and_argument_components(base_params, name, where):
    if where == "model.name":
        base_params["model"]["name"] = name
        key = "model.name"
    elif where == "models":
        base_params["models"][name] = base_params["models"]["cnn16"]
        key = f"models.{name}"
    else:
        base_params["study"]["models"] = [name]
        key = r"study.models\[0\]"
    rejects(base_params, rf"^params.yaml: {key}: .* is not a model name \(lowercase letters, digits and _")


def test_unknown_section_lists_the_known_ones(base_params):
    base_params["evaluation"] = {}
    rejects(base_params, r"unknown top-level key 'evaluation'; known keys: data, cv, train, model, models, study, eval$")


@pytest.mark.skipif(torch.cuda.is_available(), reason="a GPU is present: cuda is valid here")
@pytest.mark.parametrize("section", ["train", "eval"])
def test_cuda_without_a_gpu_is_refused_naming_its_own_key(base_params, section):
    base_params[section]["device"] = "cuda"
    params = parse_params(base_params)  # aggregate and report of a GPU-trained study still run on a CPU
    with pytest.raises(CnnLstmError, match=rf"^params.yaml: {section}.device: cuda requested but no CUDA device is available$"):
        check_devices(params)


@pytest.mark.skipif(cpu_has_bf16() or torch.cuda.is_available(), reason="this machine has bf16")
@pytest.mark.parametrize("section", ["train", "eval"])
def test_bf16_without_hardware_support_is_refused_naming_its_own_key(base_params, section):
    base_params[section].update(device="cpu", precision="bf16")
    with pytest.raises(CnnLstmError, match=rf"^params.yaml: {section}.precision: bf16 requested but this cpu does not support it$"):
        check_devices(parse_params(base_params))


def test_eval_runtime_errors_name_eval_keys(monkeypatch):
    """Where the machine changed after validation, evaluate's own check still names eval.*."""
    monkeypatch.setattr(torch.cuda, "is_available", lambda: False)
    with pytest.raises(CnnLstmError, match=r"^eval.device: cuda requested"):
        resolve_runtime("cuda", "fp32", section="eval")


def test_make_repro_refuses_bad_params_before_dvc_starts(tmp_path, base_params, monkeypatch, capsys):
    """timed_repro validates params.yaml before `dvc status`: here no dvc is on PATH at all."""
    base_params["cv"]["seed"] = -1
    (tmp_path / "params.yaml").write_text(yaml.safe_dump(base_params))
    monkeypatch.chdir(tmp_path)
    monkeypatch.setenv("PATH", str(tmp_path))  # `dvc` would not be found
    assert timed_repro.run([], tmp_path / "timing") == 1
    assert capsys.readouterr().err == "timed_repro: params.yaml: cv.seed: must be in 0..4294967295, got -1\n"
    assert not (tmp_path / "timing").exists()


@pytest.mark.slow  # a stage process: seconds of imports
@pytest.mark.skipif(torch.cuda.is_available(), reason="a GPU is present: cuda is valid here")
def test_train_stage_refuses_eval_device_cuda_before_training(tmp_path, base_params):
    """No model trains for an evaluation that cannot run here; the error names eval.device."""
    tiny_run(tmp_path, base_params)
    raw = yaml.safe_load((tmp_path / "params.yaml").read_text())
    raw["eval"]["device"] = "cuda"
    (tmp_path / "params.yaml").write_text(yaml.safe_dump(raw))
    result = subprocess.run([sys.executable, str(REPO / "stages" / "train.py"), "cnn16", "0"], cwd=tmp_path,
                            capture_output=True, text=True, env={**os.environ, "CI": "true"})
    assert result.returncode == 1
    assert result.stderr == "error: params.yaml: eval.device: cuda requested but no CUDA device is available\n"
    assert not (tmp_path / "checkpoints").exists() and not (tmp_path / "logs").exists()


@pytest.mark.parametrize(("text", "message"), [
    (b"train: {epochs: 2}\ntrain: {epochs: 3}\n", r"params.yaml: key 'train' given twice \(line 2\)$"),
    (b"cv:\n  seed: 1\n  seed: 2\n", r"params.yaml: key 'seed' given twice \(line 3\)$"),
    (b"cv: {seed: \xff}\n", r"params.yaml: not UTF-8 text \(invalid start byte at byte 11\)$"),
    (b"cv: [\n", r"params.yaml: not valid YAML \("),
])
def test_params_file_that_yaml_would_misread_is_one_line(tmp_path, text, message):
    (tmp_path / "params.yaml").write_bytes(text)
    with pytest.raises(CnnLstmError, match=message):
        load_params(tmp_path / "params.yaml")
