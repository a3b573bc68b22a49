"""The one training step (training/step.py) on the CPU: torch's optimizers reproduced, no host
read anywhere in it (what a CUDA graph needs), warm-up before capture undone, resume exact."""

from __future__ import annotations

import copy

import pytest
import torch
import torch.nn.functional as F

from cnnlstm.core.inference import to_pixels
from cnnlstm.core.params import Params, parse_params
from cnnlstm.core.runtime import Runtime, cpu_has_bf16
from cnnlstm.models.registry import build_model
from cnnlstm.training.augment import apply_augment
from cnnlstm.training.graph_safety import HostRead, NoHostReads
from cnnlstm.training.precision import layer_dtypes, rnn_dtype
from cnnlstm.training.step import TrainStep, make_optimizer, schedule_tables
from conftest import synthetic_split

FP32_CPU = Runtime(torch.device("cpu"), None)
# The precision CI's CPU trains in: bf16 autocast where it has native bf16, else fp32 (both are covered).
AUTO_CPU = Runtime(torch.device("cpu"), torch.bfloat16 if cpu_has_bf16() else None)
AUGMENT = {"crop_padding": 2, "hflip": True, "erasing": 0.5}


def small_params(base_params: dict, **train) -> Params:
    raw = copy.deepcopy(base_params)
    raw["train"].update({"epochs": 2, "batch_size": 32, **train})
    raw["models"]["cnn16"]["channels"] = [4, 8]
    return parse_params(raw)


def make_trainer(params: Params, name: str, runtime: Runtime = FP32_CPU, n: int = 512) -> TrainStep:
    images, labels = synthetic_split(n)
    torch.manual_seed(0)
    dev = runtime.device
    model = build_model(*params.configs[name]).to(dev)
    index = torch.arange(n - 17)  # a ragged tail, dropped
    total = len(index) // params.train.batch_size * params.train.epochs
    return TrainStep(model, torch.from_numpy(images).to(dev), torch.from_numpy(labels).to(dev), index,
                     params.train, runtime, total)


def run_epoch(trainer: TrainStep, epoch: int) -> float:
    """One epoch as a run does it: dropout seeded per epoch, then the step repeated."""
    torch.manual_seed(100 + epoch)
    trainer.model.train()
    trainer.new_epoch(7 + epoch)
    for _ in range(trainer.steps_per_epoch):
        trainer.eager_step()
    trainer.step_count += trainer.steps_per_epoch
    return float(trainer.loss_sum) / trainer.steps_per_epoch


@pytest.mark.parametrize(("optimizer", "schedule", "name"), [
    ("adamw", "onecycle", "cnn16"), ("adamw", "onecycle", "cnn32_lstm"), ("adamw", "cosine", "cnn16"),
    ("adamw", "constant", "cnn16"), ("sgd", "onecycle", "cnn16"), ("sgd", "cosine", "cnn16"),
])
def test_step_reproduces_torchs_optimizer_and_schedule(base_params, optimizer, schedule, name):
    """Two epochs (30 steps, dropout and augmentation on) against torch.optim with its scheduler fed
    the very same batches. AdamW is bit-identical in fp32 (the same kernels in the same order;
    scalars in float64 as torch's Python computes them); Nesterov SGD agrees to 1e-5 relative
    (torch's `add(alpha=)` fuses a multiply-add that the tensor-lr form cannot)."""
    params = small_params(base_params, optimizer=optimizer, schedule=schedule, augment=AUGMENT)
    tp = params.train
    trainer = make_trainer(params, name)
    reference = copy.deepcopy(trainer.model)
    optim, scheduler = make_optimizer(list(reference.parameters()), tp, trainer.steps_per_epoch * tp.epochs)
    for epoch in range(tp.epochs):
        run_epoch(trainer, epoch)
        torch.manual_seed(100 + epoch)
        reference.train()
        for b in range(trainer.steps_per_epoch):
            batch = trainer.order[b]
            x = apply_augment(to_pixels(trainer.images[batch]), tp.augment, trainer.draws.select(torch.tensor([b])))
            loss = F.cross_entropy(reference(x), trainer.labels[batch], label_smoothing=tp.label_smoothing)
            optim.zero_grad(set_to_none=True)
            loss.backward()
            optim.step()
            scheduler.step()
    assert trainer.last_lr() == scheduler.get_last_lr()[0]
    ours, theirs = trainer.model.state_dict(), reference.state_dict()
    for key in ours:
        if optimizer == "adamw":
            assert torch.equal(ours[key], theirs[key]), key
        else:
            torch.testing.assert_close(ours[key], theirs[key], rtol=1e-5, atol=1e-7)


@pytest.mark.parametrize("schedule", ["onecycle", "cosine", "constant"])
def test_schedule_tables_are_torchs_schedule(base_params, schedule):
    tp = small_params(base_params, schedule=schedule).train
    steps = 50
    model = torch.nn.Linear(2, 2)
    optimizer, scheduler = make_optimizer(list(model.parameters()), tp, steps)
    expected_lr, expected_beta1 = [], []
    for step in range(steps + 1):
        expected_lr.append(optimizer.param_groups[0]["lr"])
        expected_beta1.append(optimizer.param_groups[0]["betas"][0])
        if step < steps:
            model(torch.ones(1, 2)).sum().backward()
            optimizer.step()
            scheduler.step()
    _, lr, beta1 = schedule_tables(tp, steps)
    assert lr.tolist() == expected_lr and beta1.tolist() == expected_beta1
    if schedule == "onecycle":  # beta1 really cycles: 0.95 -> 0.85 -> 0.95
        assert max(expected_beta1) == pytest.approx(0.95) and min(expected_beta1) == pytest.approx(0.85)


NAMES = ["cnn16", "cnn32", "lstm", "cnn32_lstm", "cnn32_bilstm", "cnn32_lstm128x64", "cnn32_lstm_1xk",
         "cnn32_bilstm2d", "cnn32_wide", "cnn16_lstm"]


@pytest.mark.parametrize("name", NAMES)
@pytest.mark.parametrize("optimizer", ["adamw", "sgd"])
def test_step_never_reads_the_host(base_params, name, optimizer):
    """The exact step CUDA captures, run on the CPU under a dispatch mode that raises on any host
    read: none in augmentation, forward, loss, backward or the update, for every model."""
    params = small_params(base_params, optimizer=optimizer, augment={**AUGMENT, "erasing": 0.25})
    trainer = make_trainer(params, name, AUTO_CPU, n=120)
    trainer.new_epoch(1)
    trainer.model.train()
    guard = NoHostReads()
    with guard:
        trainer.step()  # the first step (moments at zero) ...
        trainer.step()  # ... and one with state, as the captured graph replays it
    assert guard.ops > 100  # the mode saw the whole step


def test_host_read_guard_catches_a_planted_item(base_params):
    """The same check fails on one planted `.item()` (a progress bar reading the loss, say)."""
    params = small_params(base_params)
    trainer = make_trainer(params, "cnn16", n=120)
    trainer.new_epoch(1)
    trainer.model.classifier_hook = trainer.model.register_forward_hook(lambda m, a, out: out.sum().item())
    with pytest.raises(HostRead, match="_local_scalar_dense"), NoHostReads():
        trainer.step()
    with pytest.raises(HostRead, match="nonzero"), NoHostReads():  # a data-dependent shape too
        trainer.images[trainer.labels > 3]


def test_warm_up_and_restore_then_steps_equal_an_eager_run(base_params):
    """What capture does before recording the graph, simulated on the CPU: three warm-up steps,
    then weights, BatchNorm statistics, moments, counters and the dropout generator put back.
    The steps after it equal a run without warm-up, bit for bit (cnn32: dropout 0.25)."""
    params = small_params(base_params, augment=AUGMENT)
    assert params.configs["cnn32"][1].dropout > 0
    eager, warmed = make_trainer(params, "cnn32"), make_trainer(params, "cnn32")
    run_epoch(eager, 0)
    run_epoch(warmed, 0)  # warm up in the second epoch, so the optimizer state is not zero
    for trainer in (eager, warmed):  # one after the other: dropout draws from the one global generator
        torch.manual_seed(101)
        trainer.new_epoch(8)
        if trainer is warmed:
            trainer.warm_up_and_restore()
        for _ in range(5):
            trainer.step()
    for key, value in eager.model.state_dict().items():
        assert torch.equal(value, warmed.model.state_dict()[key]), key
    assert torch.equal(eager.loss_sum, warmed.loss_sum)
    assert all(torch.equal(a, b) for ms, ws in zip(eager.moments, warmed.moments) for a, b in zip(ms, ws))


def test_warm_up_without_restoring_the_generator_differs(base_params):
    """The planted defect the test above guards against: dropout's generator left advanced."""
    params = small_params(base_params)
    eager, warmed = make_trainer(params, "cnn32"), make_trainer(params, "cnn32")
    warmed._rng = torch.Generator  # saves and restores a throwaway generator, not dropout's
    for trainer in (eager, warmed):
        torch.manual_seed(101)
        trainer.new_epoch(8)
        if trainer is warmed:
            trainer.warm_up_and_restore()
        trainer.step()
    assert not torch.equal(eager.loss_sum, warmed.loss_sum)


def test_resume_from_saved_state_equals_uninterrupted(base_params):
    params = small_params(base_params, augment=AUGMENT)
    straight = make_trainer(params, "cnn32")
    losses = [run_epoch(straight, e) for e in range(2)]
    assert losses[1] < losses[0]
    first = make_trainer(params, "cnn32")
    run_epoch(first, 0)
    saved = copy.deepcopy({"model": first.model.state_dict(), "trainer": first.state_dict()})
    resumed = make_trainer(params, "cnn32")
    resumed.model.load_state_dict(saved["model"])
    resumed.load_state_dict(saved["trainer"])
    assert run_epoch(resumed, 1) == losses[1]
    for key, value in straight.model.state_dict().items():
        assert torch.equal(value, resumed.model.state_dict()[key]), key


def test_layer_dtypes_record_what_ran(base_params):
    """fp32 everywhere without autocast; under CPU bf16 autocast the convolutions and the LSTM
    (oneDNN honours bf16) produce bf16, and what the LSTM got is reported."""
    params = small_params(base_params)
    trainer = make_trainer(params, "cnn32_lstm", n=120)
    trainer.new_epoch(1)
    trainer.eager_step()
    assert set(trainer.layer_dtypes.values()) == {"float32"}
    assert rnn_dtype(trainer.layer_dtypes, trainer.model) == "float32"
    if not cpu_has_bf16():
        pytest.skip("this CPU has no native bf16: autocast is not used")
    model = make_trainer(params, "cnn32_lstm", n=120).model
    with layer_dtypes(model) as found, torch.autocast("cpu", dtype=torch.bfloat16):
        model(torch.rand(4, 1, 28, 28))
    convs = [name for name, m in model.named_modules() if isinstance(m, torch.nn.Conv2d)]
    assert convs and all(found[name] == "bfloat16" for name in convs)
    assert rnn_dtype(found, model) == "bfloat16"
    assert rnn_dtype(found, make_trainer(params, "cnn32", n=120).model) is None
