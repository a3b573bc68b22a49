"""The faster conv block computes what the committed one did (issue #24).

`conv_stage` now pools before its ReLU. The reference is the same model with every conv block put
back in the old conv -> BN -> ReLU -> pool order (the same module objects' copies, so the same
weights): both train side by side on fixed data, and every step's loss, every gradient and the
BatchNorm running statistics must agree. Max-pool and ReLU are exact (no rounding), so they agree
to the bit in fp32 and in bf16 alike; the tolerance only admits oneDNN's own run-to-run reassociation.
"""

from __future__ import annotations

import copy
from pathlib import Path

import pytest
import torch
import torch.nn.functional as F
from torch import nn

from cnnlstm.core.model_configs import parse_config
from cnnlstm.core.runtime import cpu_has_bf16
from cnnlstm.models.checkpoint import load_model
from cnnlstm.models.registry import build_model
from conftest import REPO, synthetic_split

STEPS = 200
BATCH = 4
# Tiny members of every family, over every conv-block shape the study uses (3x3 + 2x2 pooling,
# 1xk kernels + width pooling, the Sequencer stem) and a model without conv blocks.
TINY = {
    "cnn": {"family": "cnn", "channels": [4, 4], "hidden": 8, "dropout": 0.0},
    "cnn_lstm": {"family": "cnn_lstm", "channels": [4, 4], "kernel": "3x3", "kernel_width": 3, "pool": "both",
                 "hidden": 8, "layers": 1, "bidirectional": False, "cell": "lstm", "readout": "last"},
    "cnn_lstm_1xk": {"family": "cnn_lstm", "channels": [4, 4], "kernel": "1xk", "kernel_width": 3, "pool": "width",
                     "hidden": 8, "layers": 1, "bidirectional": True, "cell": "lstm", "readout": "last"},
    "lstm": {"family": "lstm", "hidden": 8, "layers": 1, "bidirectional": False, "cell": "lstm", "readout": "last"},
    "sequencer": {"family": "sequencer", "channels": [4, 4], "hidden": 4, "blocks": 1, "mlp_ratio": 2},
}
PRECISIONS = {
    "fp32": None,
    "bf16": pytest.param(torch.bfloat16, marks=pytest.mark.skipif(
        not cpu_has_bf16(), reason="no native bf16 on this CPU (cpu_has_bf16: no AVX512-BF16/AMX); "
        "emulated bf16 autocast is not what training runs")),
}


def old_order(model: nn.Module) -> nn.Module:
    """A copy of `model` whose conv blocks run conv -> BN -> ReLU -> pool, the committed order."""
    old = copy.deepcopy(model)
    for module in old.modules():
        if isinstance(module, nn.Sequential):
            layers = list(module)
            for i in range(len(layers) - 1):
                if isinstance(layers[i], nn.MaxPool2d) and isinstance(layers[i + 1], nn.ReLU):
                    layers[i], layers[i + 1] = layers[i + 1], layers[i]
            for i, layer in enumerate(layers):
                module[i] = layer
    return old


def build(spec: dict) -> nn.Module:
    torch.manual_seed(0)
    return build_model(*parse_config(spec, "test"))


def step(model: nn.Module, optimizer: torch.optim.Optimizer, x: torch.Tensor, y: torch.Tensor,
         dtype: torch.dtype | None) -> tuple[torch.Tensor, list[torch.Tensor]]:
    with torch.autocast("cpu", dtype=dtype or torch.bfloat16, enabled=dtype is not None):
        logits = model(x)
    loss = F.cross_entropy(logits.float(), y, label_smoothing=0.1)
    optimizer.zero_grad(set_to_none=True)
    loss.backward()
    grads = [p.grad.clone() for p in model.parameters()]
    optimizer.step()
    return loss.detach(), grads


@pytest.mark.parametrize("precision", list(PRECISIONS.values()), ids=list(PRECISIONS))
@pytest.mark.parametrize("family", sorted(TINY))
def test_new_block_trains_exactly_like_the_old_one(family: str, precision: torch.dtype | None) -> None:
    new = build(TINY[family]).train()
    old = old_order(new).train()
    if family != "lstm":
        assert [type(m) for m in old.modules()] != [type(m) for m in new.modules()], "the reference must differ"
    optimizers = [torch.optim.AdamW(m.parameters(), lr=3e-3, weight_decay=0.01) for m in (new, old)]
    images, labels = synthetic_split(64, seed=1)
    images = torch.tensor(images, dtype=torch.float32).unsqueeze(1) / 255
    labels = torch.tensor(labels, dtype=torch.long)
    # bf16 rounds each op's result; after many steps an ulp of reassociation could grow, so
    # bf16 compares each step's loss to 1e-3 and fp32 to 1e-5 (in practice both agree exactly).
    rtol = 1e-5 if precision is None else 1e-3
    for i in range(STEPS):
        batch = slice((i * BATCH) % 64, (i * BATCH) % 64 + BATCH)
        (loss_new, grads_new), (loss_old, grads_old) = (
            step(m, o, images[batch], labels[batch], precision) for m, o in zip((new, old), optimizers)
        )
        torch.testing.assert_close(loss_new, loss_old, rtol=rtol, atol=rtol, msg=f"step {i}: loss")
        for g_new, g_old in zip(grads_new, grads_old):
            torch.testing.assert_close(g_new, g_old, rtol=100 * rtol, atol=100 * rtol, msg=f"step {i}: gradient")
    for (key, a), (key_old, b) in zip(new.state_dict().items(), old.state_dict().items()):
        assert key == key_old
        torch.testing.assert_close(a, b, rtol=100 * rtol, atol=100 * rtol, msg=key)  # incl. BN running stats


@pytest.mark.parametrize("family", sorted(TINY))
def test_state_dict_keys_are_unchanged_and_old_weights_load(family: str) -> None:
    new = build(TINY[family])
    old = old_order(new)
    assert list(new.state_dict()) == list(old.state_dict())
    torch.manual_seed(1)
    trained_old = old_order(build(TINY[family]))  # an old-order model's weights, as saved before
    new.load_state_dict(trained_old.state_dict())  # strict: every key fits
    x = torch.rand(4, 1, 28, 28)
    torch.testing.assert_close(new.eval()(x), trained_old.eval()(x), rtol=1e-6, atol=1e-6)


PRETRAINED = sorted((REPO / "pretrained").glob("*/fold0.pt"))


@pytest.mark.skipif(not PRETRAINED, reason="no pretrained/ model files in this checkout")
@pytest.mark.parametrize("path", PRETRAINED, ids=[p.parent.name for p in PRETRAINED])
def test_shipped_model_files_load_and_predict_as_before(path: Path) -> None:
    model, _ = load_model(path)
    x = torch.rand(16, 1, 28, 28)
    torch.testing.assert_close(model(x), old_order(model)(x), rtol=1e-6, atol=1e-6)
