"""All of params.yaml, every model config included, is validated before any stage does work:
finite numbers, sane ranges, and subsets that leave every class in every validation slice."""

from __future__ import annotations

import re

import numpy as np
import pytest

from cnnlstm.core.errors import CnnLstmError
from cnnlstm.core.params import parse_params
from cnnlstm.training.holdout import stratified_holdout
from cnnlstm.data.folds import assign_folds, fold_indices


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
