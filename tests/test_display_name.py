"""The proposed model's display name follows its config; listing it in study.models is a params error."""

from __future__ import annotations

import pandas as pd
import pytest

from cnnlstm.core.errors import CnnLstmError
from cnnlstm.core.params import parse_params
from cnnlstm.study.labels import describe, display_name, display_names, proposed_label
from cnnlstm.study.tables import model_markdown
from test_headline import summary_of


def test_default_label_describes_the_proposed_lstm(base_params: dict) -> None:
    assert proposed_label(parse_params(base_params)) == "cnn32_lstm (proposed: CNN 32-32 3x3 → LSTM 128)"


@pytest.mark.parametrize(
    ("overrides", "description"),
    [({"bidirectional": True}, "CNN 32-32 3x3 → BiLSTM 128"),
     ({"cell": "gru", "readout": "mean"}, "CNN 32-32 3x3 → GRU 128, mean readout"),
     ({"layers": 2, "hidden": [128, 64]}, "CNN 32-32 3x3 → LSTM 128-64"),
     ({"kernel": "1xk", "kernel_width": 5, "pool": "width"}, "CNN 32-32 1x5, width pooling → LSTM 128")],
)
def test_label_follows_the_config_not_the_name(base_params: dict, overrides: dict, description: str) -> None:
    """`dvc exp run -S model.bidirectional=true` keeps model.name; the label shows the BiLSTM."""
    base_params["model"] |= overrides
    assert proposed_label(parse_params(base_params)) == f"cnn32_lstm (proposed: {description})"


@pytest.mark.parametrize(
    ("name", "description"),
    [("cnn16", "CNN 16-16, MLP 128"), ("lstm", "LSTM 128 over pixel rows"),
     ("cnn32_bilstm2d", "CNN 32-32 → 1x Sequencer2D BiLSTM 32")],
)
def test_every_family_is_described(base_params: dict, name: str, description: str) -> None:
    _, config = parse_params(base_params).configs[name]
    assert describe(config) == description


def test_only_the_proposed_model_is_relabelled() -> None:
    summary = summary_of({"cnn32": (0.91, 0.004, 0.905), "cnn32_lstm": (0.9, 0.004, 0.9)})
    summary |= {"proposed_model": "cnn32_lstm", "proposed_label": "cnn32_lstm (proposed: CNN 32-32 3x3 → BiLSTM 128)"}
    assert display_names(summary) == {"cnn32": "cnn32", "cnn32_lstm": summary["proposed_label"]}
    assert display_name(summary, "published 89.00%") == "published 89.00%"


def test_models_table_shows_the_label_in_bold() -> None:
    table = pd.DataFrame({
        "model": ["cnn32", "cnn32_lstm"], "label": ["cnn32", "cnn32_lstm (proposed: CNN 32-32 3x3 → BiLSTM 128)"],
        "proposed": [False, True], "test_accuracy": [0.9, 0.9], "params": [1, 2], "flops_per_image": [1e6, 2e6],
        "train_seconds": [1.0, 2.0], "inference_images_per_s": [1e3, 2e3], "latency_ms": [1.0, 2.0],
        **{f"{metric}_{stat}": [0.9, 0.9]
           for metric in ("accuracy", "f1_macro", "auroc_macro", "log_loss") for stat in ("mean", "std")},
    })
    assert "**cnn32_lstm (proposed: CNN 32-32 3x3 → BiLSTM 128)**" in model_markdown(table)


def test_proposed_model_in_study_models_is_a_one_line_error(base_params: dict) -> None:
    base_params["study"]["models"].append(base_params["model"]["name"])
    with pytest.raises(CnnLstmError) as error:
        parse_params(base_params)
    message = str(error.value)
    assert "\n" not in message and message.startswith("params.yaml: study.models: lists 'cnn32_lstm'")
