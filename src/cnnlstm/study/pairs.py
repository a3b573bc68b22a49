"""Which models each research question compares, derived from the model configs in params.yaml."""

from __future__ import annotations

import dataclasses
from typing import Any, NamedTuple

from cnnlstm.core.model_configs import parse_config
from cnnlstm.core.params import Params
from cnnlstm.models.cost import count_parameters
from cnnlstm.models.registry import build_model
from cnnlstm.study.questions import PARAM_MATCH_TOLERANCE

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


def configured_models(params: Params) -> dict[str, tuple[str, Any]]:
    """(family, validated config) of every model params.yaml configures (`models:` and `model:`), whether
    or not `study.models` runs it: the Holm families are derived from these, so they never shrink."""
    names = (*params.models, params.model["name"])
    return {name: params.configs.get(name) or parse_config(params.model_spec(name), params.model_section(name))
            for name in names}


def parameter_counts(params: Params) -> dict[str, int]:
    """Each configured model's parameter count (the number models.cost.architecture_cost reports, without
    its FLOPs)."""
    return {name: count_parameters(build_model(family, config))
            for name, (family, config) in configured_models(params).items()}


def comparison_pairs(params: Params) -> list[Pair]:
    """Paired comparisons of the study's models:
    - a hybrid (CNN front end + recurrent layers) vs the smallest plain CNN with the same channels;
    - a hybrid vs every plain CNN within PARAM_MATCH_TOLERANCE of its parameter count;
    - a bidirectional model vs the model whose config differs only in `bidirectional`;
    - every model vs each pure row-LSTM (family `lstm`).
    Over every configured model, run or not: a question's family is the same at every budget point."""
    configs = configured_models(params)
    counts = parameter_counts(params)
    hybrids = [name for name, (family, _) in configs.items() if is_hybrid(family)]
    cnns = [name for name, (family, _) in configs.items() if family == "cnn"]
    pairs = []
    for name in hybrids:
        same_convs = [other for other in cnns if configs[other][1].channels == configs[name][1].channels]
        if same_convs:
            # The narrowest head is the CNN whose convolutions the hybrid reuses; a CNN widened to match
            # a hybrid's size (cnn32_wide) is the parameter-matched question's baseline, not this one's.
            pairs.append(Pair("lstm_vs_cnn", name, min(same_convs, key=counts.__getitem__)))
    for name in hybrids:
        pairs += [
            Pair("param_matched", name, other)
            for other in cnns
            if abs(counts[other] - counts[name]) <= PARAM_MATCH_TOLERANCE * counts[name]
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
