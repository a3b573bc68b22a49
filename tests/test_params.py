"""params.yaml validation: every bad value is one error naming its key."""

from __future__ import annotations

import dataclasses
from pathlib import Path

import pytest
import yaml

from cnnlstm.core.errors import CnnLstmError
from cnnlstm.core.model_configs import FAMILIES, parse_config
from cnnlstm.core.params import (
    AugmentParams, CvParams, DataParams, EvalParams, TrainParams, load_params, parse_params,
)

REPO = Path(__file__).resolve().parents[1]


def test_repository_params_are_valid():
    params = load_params("params.yaml")
    assert params.cv.folds == len(params.cv.fold_ids) == 10
    assert params.model["name"] in params.all_models
    for name in params.all_models:
        parse_config(params.model_spec(name), params.model_section(name))


@pytest.mark.parametrize(
    ("section", "key", "value", "message"),
    [
        ("cv", "folds", 1, "cv.folds: must be at least 2"),
        ("cv", "folds", "ten", "cv.folds: must be int, got 'ten'"),
        ("cv", "folds", True, "cv.folds: must be int"),
        ("cv", "subset", 0, "cv.subset"),
        ("train", "epochs", 0, "train.epochs: must be > 0"),
        ("train", "lr", 0, "train.lr: must be > 0"),
        ("train", "lr", -0.1, "train.lr: must be > 0"),
        ("train", "device", "tpu", "train.device: must be one of"),
        ("train", "optimiser", "adamw", "train: unknown key 'optimiser'"),
    ],
)
def test_bad_values_name_their_key(base_params, section, key, value, message):
    base_params[section][key] = value
    with pytest.raises(CnnLstmError, match=message.replace("(", r"\(")):
        parse_params(base_params)


def test_fold_ids_must_match_folds(base_params):
    base_params["cv"]["folds"] = 5
    with pytest.raises(CnnLstmError, match="cv.fold_ids"):
        parse_params(base_params)


def test_unknown_top_level_key(base_params):
    base_params["trian"] = {}
    with pytest.raises(CnnLstmError, match="params.yaml: unknown top-level key 'trian'"):
        parse_params(base_params)


def test_unknown_study_model_lists_known_ones(base_params):
    base_params["study"]["models"].append("cnn64")
    with pytest.raises(CnnLstmError, match="unknown model 'cnn64'; known models: .*cnn16"):
        parse_params(base_params)


@pytest.mark.parametrize(
    ("key", "value", "message"),
    [
        ("bidirectional", "yes", "model.bidirectional: must be bool, got 'yes'"),
        ("channels", [32, 0], "model.channels: must be > 0"),
        ("hidden", 0, "model.hidden: must be > 0"),
        ("layers", 0, "model.layers: must be > 0"),
        ("cell", "rnn", "model.cell: must be one of lstm, gru"),
        ("kernel", "5x5", "model.kernel: must be one of"),
        ("heads", 4, "model: unknown key 'heads'"),
    ],
)
def test_bad_model_config(base_params, key, value, message):
    """Every model's config is checked with params.yaml itself, before any stage does work."""
    base_params["model"][key] = value
    with pytest.raises(CnnLstmError, match=f"params.yaml: {message}"):
        parse_params(base_params)


def test_unknown_family(base_params):
    base_params["models"]["cnn16"]["family"] = "transformer"
    with pytest.raises(CnnLstmError, match="models.cnn16.family: must be one of cnn, lstm"):
        parse_params(base_params)


def _key_paths(mapping: dict, prefix: str = "") -> list[str]:
    """Every key of params.yaml, nested ones as dotted paths (model configs included)."""
    paths = []
    for key, value in mapping.items():
        path = f"{prefix}{key}"
        paths.append(path)
        if isinstance(value, dict):
            paths.extend(_key_paths(value, f"{path}."))
    return paths


def _delete(mapping: dict, path: str) -> None:
    *parents, last = path.split(".")
    for key in parents:
        mapping = mapping[key]
    del mapping[last]


@pytest.mark.parametrize("path", _key_paths(yaml.safe_load((REPO / "params.yaml").read_text())))
def test_deleting_any_key_is_a_one_line_error_naming_it(base_params, path):
    """params.yaml is the only source of every setting: no key falls back to a default in the code."""
    _delete(base_params, path)
    with pytest.raises(CnnLstmError) as info:
        parse_params(base_params)  # every model's config included
    message = str(info.value)
    assert message.startswith("params.yaml: ") and "\n" not in message
    assert path.rsplit(".", 1)[-1] in message


@pytest.mark.parametrize("cls", [*FAMILIES.values(), DataParams, CvParams, TrainParams, AugmentParams, EvalParams])
def test_no_dataclass_holds_a_default(cls):
    defaults = [f.name for f in dataclasses.fields(cls)
                if f.default is not dataclasses.MISSING or f.default_factory is not dataclasses.MISSING]
    assert defaults == [], f"{cls.__name__} has defaults {defaults}: params.yaml must be their only source"
