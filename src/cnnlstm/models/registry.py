"""Model families by name: params.yaml says `family: cnn_lstm` plus that family's config keys."""

from __future__ import annotations

import dataclasses
from collections.abc import Callable
from typing import Any, NamedTuple

from torch import nn

from cnnlstm.errors import CnnLstmError
from cnnlstm.models.cnn import build_cnn
from cnnlstm.models.cnn_lstm import build_cnn_lstm
from cnnlstm.models.configs import CNNConfig, CNNLSTMConfig, RowLSTMConfig, SequencerConfig
from cnnlstm.models.row_lstm import build_row_lstm
from cnnlstm.models.sequencer import build_sequencer
from cnnlstm.params import from_dict


class Family(NamedTuple):
    config: type
    build: Callable[[Any], nn.Module]


FAMILIES: dict[str, Family] = {
    "cnn": Family(CNNConfig, build_cnn),
    "lstm": Family(RowLSTMConfig, build_row_lstm),
    "cnn_lstm": Family(CNNLSTMConfig, build_cnn_lstm),
    "sequencer": Family(SequencerConfig, build_sequencer),
}


def parse_config(spec: dict[str, Any], section: str) -> tuple[str, Any]:
    """Split a params entry into its family name and validated frozen config."""
    spec = dict(spec)
    family = spec.pop("family", None)
    if family not in FAMILIES:
        raise CnnLstmError(f"{section}.family: must be one of {', '.join(FAMILIES)}, got {family!r}")
    config_cls = FAMILIES[family].config
    hidden = spec.get("hidden")
    if "layers" in {f.name for f in dataclasses.fields(config_cls)} and isinstance(hidden, int) and not isinstance(hidden, bool):
        layers = spec.get("layers", 1)
        spec["hidden"] = [hidden] * layers if isinstance(layers, int) and layers > 0 else [hidden]
    config = from_dict(config_cls, spec, section)
    config.validate(section)
    return family, config


def build_model(family: str, config: Any) -> nn.Module:
    return FAMILIES[family].build(config)
