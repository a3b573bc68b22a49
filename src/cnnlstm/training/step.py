"""The one training step of every run, on the CPU and on CUDA, and the epoch that repeats it.

Everything a step reads lives on the run's device, so the step never asks the host for a value:
  - the fold's images, labels and index are resident; each epoch's order and augmentation numbers
    are drawn on the device up front from one generator seeded per epoch;
  - device counters pick the step's batch, its random numbers and its row of the schedule tables
    (lr and beta1 / momentum per step, filled from torch's own scheduler, which cycles both);
  - the optimizer update is written with tensor-only ops (`torch._foreach_*` whose hyper-parameters
    are 0-dim device tensors, bias corrections computed on the device in float64).
On the CPU the step runs eagerly. On CUDA it is captured once as a CUDA graph and replayed
(`train.cuda_graphs: false`: the same step eagerly). tests/test_step.py runs it under a dispatch
mode that fails on any host read (training/graph_safety.py), and checks it against torch's own
AdamW / SGD with its schedulers.
"""

from __future__ import annotations

import contextlib
import time
from typing import Any

import torch
import torch.nn.functional as F
from torch import nn

from cnnlstm.core.errors import CnnLstmError
from cnnlstm.core.inference import to_pixels
from cnnlstm.core.params import TrainParams
from cnnlstm.core.runtime import Runtime
from cnnlstm.training.augment import apply_augment, draw_augment
from cnnlstm.training.precision import layer_dtypes, rnns_in_fp32
from cnnlstm.training.progress import Progress

WARMUP_STEPS = 3  # eager steps before capture: cuDNN/cuBLAS workspaces and autograd's buffers


def make_optimizer(params: list[torch.Tensor], tp: TrainParams, steps: int) -> tuple[torch.optim.Optimizer, Any]:
    """torch's optimizer and scheduler for `tp`: the reference the step's update and schedule
    tables are taken from (and tested against)."""
    if tp.optimizer == "adamw":
        optimizer = torch.optim.AdamW(params, lr=tp.lr, weight_decay=tp.weight_decay)
    else:
        optimizer = torch.optim.SGD(params, lr=tp.lr, momentum=0.9, nesterov=True, weight_decay=tp.weight_decay)
    if tp.schedule == "onecycle":  # cycles AdamW's beta1 / SGD's momentum 0.95 -> 0.85 -> 0.95 as well
        scheduler = torch.optim.lr_scheduler.OneCycleLR(optimizer, max_lr=tp.lr, total_steps=steps)
    elif tp.schedule == "cosine":
        scheduler = torch.optim.lr_scheduler.CosineAnnealingLR(optimizer, T_max=steps)
    else:
        scheduler = torch.optim.lr_scheduler.ConstantLR(optimizer, factor=1.0, total_iters=0)
    return optimizer, scheduler


def _momentum(group: dict[str, Any]) -> float:
    return group["betas"][0] if "betas" in group else group["momentum"]


def schedule_tables(tp: TrainParams, steps: int) -> tuple[dict[str, Any], torch.Tensor, torch.Tensor]:
    """(hyper-parameters, lr, momentum) of steps 0..`steps` as torch's scheduler sets them, in float64;
    the last entry is what the scheduler reports after the run. Steps a throwaway optimizer over
    a parameter without gradient, so only the schedule advances."""
    optimizer, scheduler = make_optimizer([torch.zeros(1, requires_grad=True)], tp, steps)
    group = optimizer.param_groups[0]
    hyper = {k: v for k, v in group.items() if k != "params"}
    lr, momentum = [group["lr"]], [_momentum(group)]
    for _ in range(steps):
        optimizer.step()
        scheduler.step()
        lr.append(group["lr"])
        momentum.append(_momentum(group))
    return hyper, torch.tensor(lr, dtype=torch.float64), torch.tensor(momentum, dtype=torch.float64)


def step_kind(tp: TrainParams, runtime: Runtime) -> str:
    """What run.json calls the step: `eager` (CPU), `cuda-graph` or `cuda-eager` (the same step uncaptured)."""
    if runtime.device.type != "cuda":
        return "eager"
    return "cuda-graph" if tp.cuda_graphs else "cuda-eager"


class TrainStep:
    """Trains `model` on `images[index]`, all on one device, `batch_size` images per step, for
    `total_steps` steps of the schedule (the run's epochs x steps per epoch)."""

    def __init__(
        self, model: nn.Module, images: torch.Tensor, labels: torch.Tensor, index: torch.Tensor,
        tp: TrainParams, runtime: Runtime, total_steps: int,
    ) -> None:
        dev = runtime.device
        self.model, self.tp, self.runtime = model, tp, runtime
        self.capture = step_kind(tp, runtime) == "cuda-graph"
        self.images, self.labels = images, labels.long()  # (N, 28, 28) uint8, (N,) on `dev`
        self.index = index.to(dev)
        self.steps_per_epoch = len(index) // tp.batch_size  # drop the ragged tail: BatchNorm needs > 1 image
        if self.steps_per_epoch == 0:
            raise CnnLstmError(f"train.batch_size: {tp.batch_size} is more than the {len(index)} training images")
        if dev.type == "cuda" and runtime.amp_dtype is not None:
            rnns_in_fp32(model)
        hyper, lr, momentum = schedule_tables(tp, total_steps)
        self.hyper = hyper
        self.lr_host = lr
        self.lr, self.momentum = lr.to(dev), momentum.to(dev)  # (total_steps + 1,) float64
        self.weights = [p for p in model.parameters() if p.requires_grad]
        # AdamW: first and second moments; SGD: the momentum buffer (zeros are what torch starts from)
        self.moments = [[torch.zeros_like(p) for p in self.weights] for _ in range(2 if tp.optimizer == "adamw" else 1)]
        self.step_count = 0  # steps done, on the host; advanced by whole epochs
        # Static buffers: a captured graph reads these addresses, so they are refilled in place.
        self.order = torch.zeros(self.steps_per_epoch, tp.batch_size, dtype=torch.long, device=dev)
        self.draws = draw_augment(tp.augment, (self.steps_per_epoch, tp.batch_size), torch.Generator(dev))
        self.batch = torch.zeros(1, dtype=torch.long, device=dev)  # step within the epoch
        self.global_step = torch.zeros(1, dtype=torch.long, device=dev)  # step within the run
        self.loss_sum = torch.zeros((), device=dev)
        self.graph: torch.cuda.CUDAGraph | None = None
        self.layer_dtypes: dict[str, str] | None = None  # what each layer's output was, first step

    def _autocast(self) -> contextlib.AbstractContextManager:
        """Autocast without its weight-cast cache, which would outlive one captured step."""
        if self.runtime.amp_dtype is None:
            return contextlib.nullcontext()
        return torch.autocast(self.runtime.device.type, dtype=self.runtime.amp_dtype, cache_enabled=False)

    def step(self) -> None:
        """One training step, all from device memory: the code a CUDA graph captures."""
        batch = self.order.index_select(0, self.batch).squeeze(0)  # (B,)
        x = apply_augment(to_pixels(self.images.index_select(0, batch)), self.tp.augment,
                          self.draws.select(self.batch))  # (B, 1, 28, 28)
        y = self.labels.index_select(0, batch)
        with self._autocast():
            logits = self.model(x)
        loss = F.cross_entropy(logits.float(), y, label_smoothing=self.tp.label_smoothing)
        for p in self.weights:
            p.grad = None
        loss.backward()
        with torch.no_grad():
            self._update()
            self.loss_sum += loss.detach()
            self.batch += 1
            self.global_step += 1

    def _update(self) -> None:
        """torch's AdamW (or Nesterov SGD) update, hyper-parameters read from the device tables."""
        weights, grads = self.weights, [p.grad for p in self.weights]
        dtype = self.weights[0].dtype
        lr = self.lr.index_select(0, self.global_step).squeeze(0)  # () float64
        momentum = self.momentum.index_select(0, self.global_step).squeeze(0)
        wd = self.hyper["weight_decay"]
        if self.tp.optimizer == "sgd":
            (buf,) = self.moments
            grads = torch._foreach_add(grads, weights, alpha=wd)
            torch._foreach_mul_(buf, momentum.to(dtype))  # from zeros: the first step's buffer is the gradient
            torch._foreach_add_(buf, grads)
            torch._foreach_add_(grads, torch._foreach_mul(buf, momentum.to(dtype)))  # Nesterov
            torch._foreach_add_(weights, torch._foreach_mul(grads, (-lr).to(dtype)))
            return
        exp_avg, exp_avg_sq = self.moments
        beta2, eps = self.hyper["betas"][1], self.hyper["eps"]
        t = (self.global_step + 1).squeeze(0).to(torch.float64)  # the step number, as torch counts it
        # Scalars in float64 as torch computes them in Python (its bias correction uses this step's beta1).
        bias1 = 1 - momentum.pow(t)
        bias2_sqrt = (1 - torch.pow(beta2, t)).sqrt()
        torch._foreach_mul_(weights, (1 - lr * wd).to(dtype))  # decoupled weight decay
        torch._foreach_lerp_(exp_avg, grads, [(1 - momentum).to(dtype)] * len(grads))
        torch._foreach_mul_(exp_avg_sq, beta2)
        torch._foreach_addcmul_(exp_avg_sq, grads, grads, value=1 - beta2)
        denom = torch._foreach_sqrt(exp_avg_sq)
        torch._foreach_div_(denom, bias2_sqrt.to(dtype))
        torch._foreach_add_(denom, eps)
        torch._foreach_addcdiv_(weights, torch._foreach_mul(exp_avg, (-lr / bias1).to(dtype)), denom)

    def new_epoch(self, seed: int) -> None:
        """Draw the epoch's order and augmentation on the device; reset the counters (no sync)."""
        dev = self.runtime.device
        generator = torch.Generator(dev).manual_seed(seed)
        used = self.steps_per_epoch * self.tp.batch_size
        perm = torch.randperm(len(self.index), generator=generator, device=dev)[:used]
        self.order.copy_(self.index[perm].view(self.steps_per_epoch, self.tp.batch_size))  # (steps, B)
        fresh = draw_augment(self.tp.augment, (self.steps_per_epoch, self.tp.batch_size), generator)
        for static, new in zip(self.draws, fresh):
            if static is not None:
                static.copy_(new)
        self.batch.zero_()
        self.global_step.fill_(self.step_count)
        self.loss_sum.zero_()

    def eager_step(self) -> None:
        """`step`, recording the dtype every layer ran in on the run's first step."""
        if self.layer_dtypes is not None:
            self.step()
            return
        with layer_dtypes(self.model) as found:
            self.step()
        self.layer_dtypes = found

    def _mutable_state(self) -> list[torch.Tensor]:
        """Everything a step changes: weights, BatchNorm statistics, moments and counters."""
        return [*self.model.state_dict().values(), *(m for ms in self.moments for m in ms),
                self.batch, self.global_step, self.loss_sum]

    def _rng(self) -> torch.Generator:
        """The generator dropout draws from: the device's default one."""
        dev = self.runtime.device
        if dev.type == "cuda":
            return torch.cuda.default_generators[dev.index if dev.index is not None else torch.cuda.current_device()]
        return torch.default_generator

    def warm_up_and_restore(self) -> None:
        """Run the warm-up steps a capture needs, then put every piece of state back, the dropout
        generator included, so the captured run starts exactly where the eager one would."""
        saved = [t.clone() for t in self._mutable_state()]
        rng = self._rng().get_state()
        for _ in range(min(WARMUP_STEPS, self.steps_per_epoch)):  # stay inside the epoch's buffers
            self.eager_step()
        for tensor, value in zip(self._mutable_state(), saved, strict=True):
            tensor.copy_(value)
        self._rng().set_state(rng)

    def _capture(self) -> torch.cuda.CUDAGraph:
        side = torch.cuda.Stream()
        side.wait_stream(torch.cuda.current_stream())
        with torch.cuda.stream(side):
            self.warm_up_and_restore()
        torch.cuda.current_stream().wait_stream(side)
        graph = torch.cuda.CUDAGraph()
        with torch.cuda.graph(graph):
            self.step()
        return graph

    def state_dict(self) -> dict[str, Any]:
        return {"moments": [[m.clone() for m in ms] for ms in self.moments], "step_count": self.step_count}

    def load_state_dict(self, state: dict[str, Any]) -> None:
        """Copied into the existing tensors: a captured graph keeps reading their addresses."""
        for mine, saved in zip(self.moments, state["moments"], strict=True):
            torch._foreach_copy_(mine, [s.to(self.runtime.device) for s in saved])
        self.step_count = int(state["step_count"])

    def last_lr(self) -> float:
        """The learning rate of the next step (what torch's scheduler reports)."""
        return float(self.lr_host[self.step_count])


def train_one_epoch(trainer: TrainStep, seed: int, progress: Progress) -> tuple[float, float]:
    """One epoch with order and augmentation from `seed`; return (mean loss, seconds). The loss is
    summed on the device and read once, after the epoch."""
    trainer.model.train()
    started = time.perf_counter()
    trainer.new_epoch(seed)
    if trainer.capture and trainer.graph is None:
        trainer.graph = trainer._capture()
    for b in range(trainer.steps_per_epoch):
        if trainer.graph is not None:
            trainer.graph.replay()
        else:
            trainer.eager_step()
        if progress.interactive and trainer.graph is None:  # a terminal only; a host read, outside the step
            progress.step(float(trainer.loss_sum) / (b + 1))
    mean_loss = float(trainer.loss_sum) / trainer.steps_per_epoch
    trainer.step_count += trainer.steps_per_epoch
    return mean_loss, time.perf_counter() - started
