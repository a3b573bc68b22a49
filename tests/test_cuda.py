"""The training step on a CUDA GPU (marked `cuda`, skipped without one; run on the device machine
with `pytest -m cuda`): the captured graph against the eager step, no sync inside an epoch, the
dtype every layer really runs in, and the train stage end to end. Its CPU side is tests/test_step.py."""

from __future__ import annotations

import json

import numpy as np
import pytest
import torch

from cnnlstm.core.runtime import Runtime
from cnnlstm.capture_check import replay_epoch_without_syncs
from cnnlstm.training.precision import rnn_dtype
from cnnlstm.training.progress import Progress
from cnnlstm.training.step import train_one_epoch
from test_step import AUGMENT, make_trainer, small_params
from test_training import make_workdir, run_train

pytestmark = [pytest.mark.cuda, pytest.mark.skipif(not torch.cuda.is_available(), reason="needs a CUDA GPU")]
BF16_CUDA = Runtime(torch.device("cuda"), torch.bfloat16)


@pytest.mark.parametrize("name", ["cnn32_lstm", "cnn32"])
def test_captured_loss_curve_equals_eager(base_params, name):
    """Same seed, same draws, dropout on (cnn32): the captured graph and the eager step give the same
    loss curve within bf16 tolerance (autocast rounds activations to 8 mantissa bits)."""
    curves = []
    for cuda_graphs in (False, True):
        params = small_params(base_params, epochs=4, batch_size=64, cuda_graphs=cuda_graphs, augment=AUGMENT)
        trainer = make_trainer(params, name, BF16_CUDA, n=2048)
        losses = []
        for epoch in range(params.train.epochs):
            torch.manual_seed(100 + epoch)
            losses.append(train_one_epoch(trainer, 7 + epoch, Progress("t", 4))[0])
        assert (trainer.graph is not None) == cuda_graphs
        curves.append(losses)
    eager, captured = curves
    assert captured[-1] < captured[0]
    np.testing.assert_allclose(captured, eager, rtol=2e-2)


def test_captured_epoch_never_syncs_with_the_host(base_params):
    params = small_params(base_params, augment={**AUGMENT, "erasing": 0.25})
    trainer = make_trainer(params, "cnn32_lstm", BF16_CUDA, n=2048)
    train_one_epoch(trainer, 1, Progress("t", 2))  # captures
    replay_epoch_without_syncs(trainer, 2)


@pytest.mark.parametrize("name", ["cnn32_lstm", "cnn32_bilstm2d", "cnn32"])
def test_layer_dtypes_under_bf16_autocast(base_params, name):
    """Convolutions and linears run bf16; the RNNs run fp32 (training/precision.py: cuDNN's autocast
    would give them fp16, unscaled)."""
    params = small_params(base_params, cuda_graphs=False)
    trainer = make_trainer(params, name, BF16_CUDA, n=256)
    trainer.new_epoch(1)
    trainer.eager_step()
    convs = [n for n, m in trainer.model.named_modules() if isinstance(m, torch.nn.Conv2d)]
    assert all(trainer.layer_dtypes[n] == "bfloat16" for n in convs)
    assert rnn_dtype(trainer.layer_dtypes, trainer.model) == (None if name == "cnn32" else "float32")


@pytest.mark.parametrize("cuda_graphs", [True, False])
def test_train_stage_on_cuda_records_its_step(tmp_path, base_params, cuda_graphs):
    workdir = make_workdir(tmp_path, base_params, n_train=2000, device="cuda", precision="bf16",
                           cuda_graphs=cuda_graphs)
    result = run_train(workdir)
    assert result.returncode == 0, result.stderr
    run = json.loads((workdir / "runs/cnn16/fold0/run.json").read_text())
    assert run["step"] == ("cuda-graph" if cuda_graphs else "cuda-eager")
    assert run["device"] == "cuda" and run["amp"] == "bfloat16" and run["best_val_acc"] > 0.5
    assert run["layer_dtypes"] and run["rnn_dtype"] is None
