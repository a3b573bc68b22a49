"""params.yaml validation: every bad value is one error naming its key."""

from __future__ import annotations

import pytest

from cnnlstm.core.errors import CnnLstmError
from cnnlstm.models.configs import parse_config
from cnnlstm.core.params import load_params, parse_params


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
        ("dropout", 0.1, "model: unknown key 'dropout'"),
    ],
)
def test_bad_model_config(base_params, key, value, message):
    base_params["model"][key] = value
    params = parse_params(base_params)
    with pytest.raises(CnnLstmError, match=message):
        parse_config(params.model_spec("cnn32_lstm"), params.model_section("cnn32_lstm"))


def test_unknown_family(base_params):
    base_params["models"]["cnn16"]["family"] = "transformer"
    params = parse_params(base_params)
    with pytest.raises(CnnLstmError, match="models.cnn16.family: must be one of cnn, lstm"):
        parse_config(params.model_spec("cnn16"), params.model_section("cnn16"))
