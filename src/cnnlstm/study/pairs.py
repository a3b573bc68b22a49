"""Which models each research question compares, derived from the model configs in params.yaml."""

from __future__ import annotations

import dataclasses
from typing import Any, NamedTuple

from cnnlstm.core.params import Params

RECURRENT_CONV_FAMILIES = ("cnn_lstm", "sequencer")  # a CNN front end followed by recurrent layers


class Pair(NamedTuple):
    question: str
    model: str
    baseline: str

    @property
    def key(self) -> str:
        return f"{self.model}-vs-{self.baseline}"


def is_hybrid(family: str) -> bool:
    return family in RECURRENT_CONV_FAMILIES


def comparison_pairs(params: Params) -> list[Pair]:
    """Paired comparisons of the study's models:
    - a hybrid (CNN front end + recurrent layers) vs the plain CNN with the same channels;
    - a bidirectional model vs the model whose config differs only in `bidirectional`;
    - every model vs each pure row-LSTM (family `lstm`).
    Models outside the study are ignored, so a shorter study list just has fewer pairs."""
    configs = params.configs
    pairs = []
    for name, (family, config) in configs.items():
        if is_hybrid(family):
            pairs += [
                Pair("lstm_vs_cnn", name, other)
                for other, (other_family, other_config) in configs.items()
                if other_family == "cnn" and other_config.channels == config.channels
            ]
    for name, (family, config) in configs.items():
        if getattr(config, "bidirectional", False):
            unidirectional = dataclasses.replace(config, bidirectional=False)
            pairs += [
                Pair("bidirectional", name, other)
                for other, (other_family, other_config) in configs.items()
                if other_family == family and other_config == unidirectional
            ]
    row_lstms = [name for name, (family, _) in configs.items() if family == "lstm"]
    pairs += [Pair("vs_row_lstm", name, ref) for ref in row_lstms for name in configs if name != ref]
    return pairs
