"""The device-resident training step (training/captured.py): its pure logic on the CPU here, and,
marked `cuda` (run on a GPU machine with `pytest -m cuda`), the captured graph against the eager step."""

from __future__ import annotations

import copy
import dataclasses
import io
import json

import numpy as np
import pytest
import torch

from cnnlstm.core.params import Params, parse_params
from cnnlstm.core.runtime import Runtime
from cnnlstm.models.registry import build_model
from cnnlstm.training.augment import apply_augment, augment_batch, draw_augment
from cnnlstm.training.captured import CapturedTrainer, schedule_tables, training_step_kind
from cnnlstm.training.loop import train_one_epoch
from cnnlstm.training.progress import Progress
from cnnlstm.training.run import make_optimizer
from conftest import synthetic_split
from test_training import make_workdir, run_train

cuda = pytest.mark.skipif(not torch.cuda.is_available(), reason="needs a CUDA GPU")
FP32_CPU = Runtime(torch.device("cpu"), None)


def small_params(base_params: dict, **train) -> Params:
    raw = copy.deepcopy(base_params)
    raw["train"].update({"epochs": 2, "batch_size": 32, **train})
    raw["models"]["cnn16"]["channels"] = [4, 8]
    return parse_params(raw)


def setup(params: Params, name: str, runtime: Runtime, n: int = 512, seed: int = 0):
    """(model, images, labels, index) on the runtime's device, the model seeded like a run."""
    images, labels = synthetic_split(n)
    torch.manual_seed(seed)
    model = build_model(*params.configs[name]).to(runtime.device)
    dev = runtime.device
    return model, torch.from_numpy(images).to(dev), torch.from_numpy(labels).long().to(dev), torch.arange(n - 17)


def trainer_for(params: Params, name: str, runtime: Runtime, capture: bool) -> CapturedTrainer:
    model, images, labels, index = setup(params, name, runtime)
    tp = params.train
    total = len(index) // tp.batch_size * tp.epochs
    return CapturedTrainer(model, images, labels, index, tp, runtime, make_optimizer(model, tp, total), total, capture)


# --- pure logic, on the CPU ---


def test_epoch_draws_select_one_step_and_reproduce(base_params):
    augment = dataclasses.replace(small_params(base_params).train.augment, crop_padding=2, hflip=True, erasing=0.5)
    first = draw_augment(augment, (5, 8), torch.Generator().manual_seed(3))
    again = draw_augment(augment, (5, 8), torch.Generator().manual_seed(3))
    assert all(torch.equal(a, b) for a, b in zip(first, again))
    step = first.select(torch.tensor([2]))
    assert step.dy.shape == (8, 1) and step.flip.shape == (8,)
    assert all(torch.equal(s, full[2]) for s, full in zip(step, first))
    x = torch.rand(8, 1, 28, 28)
    assert torch.equal(apply_augment(x, augment, step), apply_augment(x, augment, step))


def test_cpu_augmentation_still_draws_per_batch(base_params):
    """The CPU loop's numbers: one draw per batch from the epoch generator, in the same order."""
    augment = dataclasses.replace(small_params(base_params).train.augment, crop_padding=2, hflip=True, erasing=0.5)
    x = torch.rand(8, 1, 28, 28)
    expected = apply_augment(x, augment, draw_augment(augment, (8,), torch.Generator().manual_seed(1)))
    assert torch.equal(augment_batch(x, augment, torch.Generator().manual_seed(1)), expected)


@pytest.mark.parametrize("schedule", ["onecycle", "cosine", "constant"])
def test_schedule_tables_are_torchs_schedule(base_params, schedule):
    tp = small_params(base_params, schedule=schedule).train
    steps = 50
    model = torch.nn.Linear(2, 2)
    optimizer, scheduler = make_optimizer(model, tp, steps)
    expected_lr, expected_beta1 = [], []
    for step in range(steps + 1):
        expected_lr.append(optimizer.param_groups[0]["lr"])
        expected_beta1.append(optimizer.param_groups[0]["betas"][0])
        if step < steps:
            model(torch.ones(1, 2)).sum().backward()
            optimizer.step()
            scheduler.step()
    lr, beta1 = schedule_tables(*make_optimizer(torch.nn.Linear(2, 2), tp, steps), steps)
    assert lr.tolist() == expected_lr and beta1.tolist() == expected_beta1


def test_step_kind(base_params):
    tp = small_params(base_params).train
    cuda_runtime = Runtime(torch.device("cuda"), torch.bfloat16)
    assert training_step_kind(tp, FP32_CPU) == "loop"
    assert training_step_kind(tp, cuda_runtime) == "cuda-graph"
    assert training_step_kind(dataclasses.replace(tp, cuda_graphs=False), cuda_runtime) == "cuda-eager"
    assert training_step_kind(dataclasses.replace(tp, optimizer="sgd"), cuda_runtime) == "loop"


def test_device_step_on_cpu_equals_the_cpu_loop(base_params):
    """Without augmentation the two paths see the same batches (same seed, same permutation) and
    apply the same schedule: the same losses and weights, up to float rounding of tensor-lr AdamW."""
    params = small_params(base_params)
    tp = params.train
    trainer = trainer_for(params, "cnn16", FP32_CPU, capture=False)
    model, images, labels, index = setup(params, "cnn16", FP32_CPU)
    optimizer, scheduler = make_optimizer(model, tp, trainer.steps_per_epoch * tp.epochs)
    for epoch in range(tp.epochs):
        torch.manual_seed(epoch)  # the same dropout masks, as seed_everything gives a run's epoch
        device_loss, _ = trainer.train_epoch(100 + epoch)
        torch.manual_seed(epoch)
        loop_loss, _ = train_one_epoch(model, images, labels, index, optimizer, scheduler, tp, FP32_CPU,
                                       torch.Generator().manual_seed(100 + epoch), Progress("t", tp.epochs))
        assert device_loss == pytest.approx(loop_loss, rel=1e-4)
    assert trainer.schedule.get_last_lr() == pytest.approx(scheduler.get_last_lr())
    for a, b in zip(trainer.model.state_dict().values(), model.state_dict().values()):
        torch.testing.assert_close(a, b, rtol=1e-4, atol=1e-5)


def test_device_step_reproduces_and_resumes(base_params):
    """Same seed, same run; a run stopped after epoch 1 and restored from saved state continues
    exactly as the uninterrupted one."""
    params = small_params(base_params)
    params = dataclasses.replace(params, train=dataclasses.replace(
        params.train, augment=dataclasses.replace(params.train.augment, crop_padding=2, hflip=True, erasing=0.5)))
    def epoch(trainer: CapturedTrainer, e: int) -> float:
        torch.manual_seed(e)  # dropout, seeded per epoch as a run does
        return trainer.train_epoch(7 + e)[0]

    straight = trainer_for(params, "cnn16", FP32_CPU, capture=False)
    losses = [epoch(straight, e) for e in range(2)]
    assert losses[0] == epoch(trainer_for(params, "cnn16", FP32_CPU, capture=False), 0)
    assert losses[1] < losses[0]

    first = trainer_for(params, "cnn16", FP32_CPU, capture=False)
    epoch(first, 0)
    buffer = io.BytesIO()
    torch.save({"model": first.model.state_dict(), "optimizer": first.optimizer.state_dict(),
                "schedule": first.schedule.state_dict()}, buffer)
    buffer.seek(0)
    saved = torch.load(buffer, weights_only=True)
    resumed = trainer_for(params, "cnn16", FP32_CPU, capture=False)
    resumed.model.load_state_dict(saved["model"])
    resumed.optimizer.load_state_dict(saved["optimizer"])
    resumed.schedule.load_state_dict(saved["schedule"])
    assert epoch(resumed, 1) == losses[1]
    assert all(torch.equal(a, b) for a, b in zip(resumed.model.state_dict().values(),
                                                  straight.model.state_dict().values()))


# --- on a CUDA GPU (pytest -m cuda) ---


@cuda
@pytest.mark.cuda
@pytest.mark.parametrize("name", ["cnn32_lstm", "cnn32"])
def test_captured_loss_curve_equals_eager(base_params, name):
    """Same seed, same draws: the captured graph and the eager step give the same loss curve
    within bf16 tolerance (autocast rounds activations to 8 mantissa bits)."""
    params = small_params(base_params, epochs=4, batch_size=64,
                          augment={"crop_padding": 2, "hflip": True, "erasing": 0.25})
    runtime = Runtime(torch.device("cuda"), torch.bfloat16)
    if name == "cnn32":  # dropout draws differ between graph and eager: compare without it
        params = dataclasses.replace(params, configs={**params.configs, name: (
            params.configs[name][0], dataclasses.replace(params.configs[name][1], dropout=0.0))})
    curves = []
    for capture in (False, True):
        trainer = trainer_for(params, name, runtime, capture)
        curves.append([trainer.train_epoch(11 + e)[0] for e in range(params.train.epochs)])
    eager, captured = curves
    assert captured[-1] < captured[0]
    np.testing.assert_allclose(captured, eager, rtol=2e-2)


@cuda
@pytest.mark.cuda
def test_captured_epoch_never_syncs_with_the_host(base_params):
    params = small_params(base_params, augment={"crop_padding": 2, "hflip": True, "erasing": 0.25})
    runtime = Runtime(torch.device("cuda"), torch.bfloat16)
    trainer = trainer_for(params, "cnn32_lstm", runtime, capture=True)
    trainer.train_epoch(1)  # captures
    eager = trainer_for(params, "cnn32_lstm", runtime, capture=False)
    eager.train_epoch(1)  # first steps create optimizer state
    torch.cuda.set_sync_debug_mode("error")
    try:
        trainer._new_epoch(2)
        for _ in range(trainer.steps_per_epoch):
            trainer.graph.replay()
        eager._new_epoch(2)
        for _ in range(eager.steps_per_epoch):
            eager._step()
    finally:
        torch.cuda.set_sync_debug_mode("default")


@cuda
@pytest.mark.cuda
@pytest.mark.parametrize("cuda_graphs", [True, False])
def test_train_stage_on_cuda_records_its_step(tmp_path, base_params, cuda_graphs):
    workdir = make_workdir(tmp_path, base_params, n_train=2000, device="cuda", precision="bf16",
                           cuda_graphs=cuda_graphs)
    result = run_train(workdir)
    assert result.returncode == 0, result.stderr
    run = json.loads((workdir / "runs/cnn16/fold0/run.json").read_text())
    assert run["step"] == ("cuda-graph" if cuda_graphs else "cuda-eager")
    assert run["device"] == "cuda" and run["amp"] == "bfloat16" and run["best_val_acc"] > 0.5
