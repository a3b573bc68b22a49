"""One generic test over every model of the study, and the row-preserving hybrid's promise."""

from __future__ import annotations

import pytest
import torch

from cnnlstm.core.model_configs import FAMILIES, parse_config
from cnnlstm.models.registry import build_model
from cnnlstm.models.cnn_lstm import ConvRowReader
from cnnlstm.core.params import load_params

PARAMS = load_params("params.yaml")
VARIANTS = {
    **{name: PARAMS.model_spec(name) for name in PARAMS.all_models},
    # options the study does not use by default, so that every code path is covered
    "gru_mean": {"family": "cnn_lstm", "channels": [8], "kernel": "3x3", "kernel_width": 3, "pool": "both",
                 "cell": "gru", "readout": "mean", "hidden": 16, "layers": 1, "bidirectional": False},
    "bigru_rows": {"family": "lstm", "hidden": [16, 8], "layers": 2, "bidirectional": True, "cell": "gru",
                   "readout": "last"},
}


def build(spec: dict) -> torch.nn.Module:
    family, config = parse_config(spec, "test")
    return build_model(family, config)


def test_every_family_is_in_the_study():
    assert {PARAMS.model_spec(n)["family"] for n in PARAMS.all_models} == set(FAMILIES)


@pytest.mark.parametrize("name", sorted(VARIANTS))
def test_shape_finite_and_every_parameter_learns(name):
    torch.manual_seed(0)
    model = build(VARIANTS[name]).train()
    x = torch.rand(6, 1, 28, 28)
    logits = model(x)
    assert logits.shape == (6, 10)
    assert torch.isfinite(logits).all()
    logits.logsumexp(1).sum().backward()
    no_grad = [n for n, p in model.named_parameters() if p.grad is None or not p.grad.abs().sum() > 0]
    assert not no_grad, f"parameters without gradient: {no_grad}"
    assert model.features(x).shape[0] == 6


def test_row_preserving_kernels_never_mix_rows():
    """With 1xk kernels and width-only pooling, time step t depends on input row t alone."""
    torch.manual_seed(0)
    model = build(PARAMS.model_spec("cnn32_lstm_1xk")).eval()
    body = model.body
    assert isinstance(body, ConvRowReader) and body.rows == 28
    x = torch.rand(2, 1, 28, 28)
    changed = x.clone()
    changed[:, 0, 11] = torch.rand(2, 28)
    with torch.no_grad():
        before, after = body.time_steps(x), body.time_steps(changed)  # (B, 28, C*W)
    differs = (before - after).abs().amax(dim=(0, 2)) > 0
    assert differs.nonzero().flatten().tolist() == [11]


def test_standard_kernels_do_mix_rows():
    """The contrast case: 3x3 kernels let a row leak into its neighbours' time steps."""
    torch.manual_seed(0)
    spec = {**PARAMS.model_spec("cnn32_lstm_1xk"), "kernel": "3x3"}
    body = build(spec).eval().body
    x = torch.rand(1, 1, 28, 28)
    changed = x.clone()
    changed[:, :, 11] = 1.0 - changed[:, :, 11]
    with torch.no_grad():
        differs = (body.time_steps(x) - body.time_steps(changed)).abs().amax(dim=(0, 2)) > 0
    assert differs.sum() > 1
