"""Which pairs each research question compares: the same-convolution CNN and the parameter-matched CNN."""

from __future__ import annotations

import copy

import pytest

from cnnlstm.core.params import Params, parse_params
from cnnlstm.study.pairs import Pair, comparison_pairs, parameter_counts
from cnnlstm.study.questions import PARAM_MATCH_TOLERANCE

CONV32 = 9642  # two 32-channel conv blocks (288 + 9,216 weights, 2 x 64 BN) + the 10-way head's bias


def cnn32(hidden: int) -> dict:
    return {"family": "cnn", "channels": [32, 32], "hidden": hidden, "dropout": 0.25}


def cnn32_params(hidden: int) -> int:
    """By hand: conv blocks, a 1,568 -> hidden layer with bias and the hidden -> 10 head."""
    return CONV32 + 1568 * hidden + hidden + 10 * hidden


def study(base_params: dict, names: list[str], extra: dict | None = None) -> Params:
    """params.yaml configuring only `names` (and the proposed model): families come from every configured model."""
    raw = copy.deepcopy(base_params)
    raw["models"].update(extra or {})
    raw["models"] = {name: raw["models"][name] for name in names}
    raw["study"]["models"] = names
    raw["study"]["main_models"] = [m for m in raw["study"]["main_models"] if m in [*names, raw["model"]["name"]]]
    raw["study"]["primary"] = [raw["model"]["name"], names[0]] if "cnn32" not in names else raw["study"]["primary"]
    return parse_params(raw)


def pairs_of(params: Params, question: str) -> set[tuple[str, str]]:
    return {(p.model, p.baseline) for p in comparison_pairs(params) if p.question == question}


def test_parameter_counts_match_a_hand_count(base_params: dict) -> None:
    counts = parameter_counts(study(base_params, ["cnn32", "cnn32_wide", "cnn32_bilstm"]))
    assert counts["cnn32"] == cnn32_params(128) == 211_754
    assert counts["cnn32_wide"] == cnn32_params(231) == 374_391
    assert counts["cnn32_lstm"] == 192_170 and counts["cnn32_bilstm"] == 374_698


def test_wide_cnn_is_the_bilstms_parameter_matched_baseline_only(base_params: dict) -> None:
    params = study(base_params, base_params["study"]["models"])
    matched = pairs_of(params, "param_matched")
    assert ("cnn32_bilstm", "cnn32_wide") in matched
    assert ("cnn32_lstm", "cnn32_wide") not in matched  # 374,391 against 192,170
    counts = parameter_counts(params)
    assert abs(counts["cnn32_wide"] / counts["cnn32_bilstm"] - 1) < 0.02  # params.yaml's promise


def test_same_convolution_pairs_are_unchanged_by_the_wide_cnn(base_params: dict) -> None:
    without = [m for m in base_params["study"]["models"] if m != "cnn32_wide"]
    before = pairs_of(study(base_params, without), "lstm_vs_cnn")
    after = pairs_of(study(base_params, [*without, "cnn32_wide"]), "lstm_vs_cnn")
    assert after == before
    assert ("cnn32_lstm", "cnn32") in after and all(baseline != "cnn32_wide" for _, baseline in after)


def test_same_convolution_baseline_is_the_smallest_cnn_wherever_it_is_listed(base_params: dict) -> None:
    params = study(base_params, ["cnn32_wide", "cnn32"])  # the wide one listed first
    assert pairs_of(params, "lstm_vs_cnn") == {("cnn32_lstm", "cnn32")}


@pytest.mark.parametrize(("hidden", "matched"), [(103, False), (104, True), (127, True), (128, False)])
def test_tolerance_is_relative_to_the_hybrids_count(base_params: dict, hidden: int, matched: bool) -> None:
    # cnn32_lstm has 192,170 parameters: +-10% is 172,953..211,387, i.e. head widths 104..127
    assert PARAM_MATCH_TOLERANCE == 0.10
    params = study(base_params, ["probe"], {"probe": cnn32(hidden)})
    assert (("cnn32_lstm", "probe") in pairs_of(params, "param_matched")) == matched


def test_every_cnn_within_tolerance_is_paired(base_params: dict) -> None:
    params = study(base_params, ["cnn32", "a", "b"], {"a": cnn32(110), "b": cnn32(120)})
    pairs = comparison_pairs(params)
    assert {(p.model, p.baseline) for p in pairs if p.question == "param_matched"} == {
        ("cnn32_lstm", "a"), ("cnn32_lstm", "b")}
    assert Pair("lstm_vs_cnn", "cnn32_lstm", "a") in pairs  # a has the fewest parameters of the 32-channel CNNs


def test_a_hybrid_without_a_cnn_of_its_size_has_no_matched_pair(base_params: dict) -> None:
    assert pairs_of(study(base_params, ["cnn16", "cnn16_lstm"]), "param_matched") == set()
