"""Training on CUDA that is not launch-bound: one captured graph per run, replayed once per step.

The eager step of these small models is ~3.5 ms of kernel launches for microseconds of work, so
everything a step needs lives on the GPU and the whole step is captured once as a CUDA graph:
  - the fold's images, labels and index are resident; each epoch's order and augmentation
    numbers are drawn on the GPU up front (one CUDA generator per epoch, seeded like the CPU loop);
  - a device counter picks the step's batch and random numbers, so replays need no host input;
  - forward (bf16 autocast), loss, backward and `AdamW(capturable=True)` run with the learning
    rate and beta1 read from tables on the device, filled from torch's own scheduler.
The loss is summed on the device and read once per epoch: no host sync inside an epoch.
With `train.cuda_graphs: false` the same `_step` runs eagerly, step by step (the fallback, and the
reference the captured graph is tested against). The CPU path is `loop.train_one_epoch`, untouched.
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
from cnnlstm.training.augment import AugmentDraws, apply_augment, draw_augment

WARMUP_STEPS = 3  # eager steps before capture: cuDNN/cuBLAS workspaces, autograd and optimizer state


def schedule_tables(optimizer: torch.optim.Optimizer, scheduler: Any, steps: int) -> tuple[torch.Tensor, torch.Tensor]:
    """(lr, beta1) of steps 0..`steps` as torch's `scheduler` sets them (OneCycle cycles beta1
    too); the last entry is what the scheduler reports after the run. Steps `optimizer`, which must
    be a throwaway: its parameters have no gradients, so it only advances the schedule."""
    group = optimizer.param_groups[0]
    lr, beta1 = [group["lr"]], [group["betas"][0]]
    for _ in range(steps):
        optimizer.step()
        scheduler.step()
        lr.append(group["lr"])
        beta1.append(group["betas"][0])
    return torch.tensor(lr, dtype=torch.float64), torch.tensor(beta1, dtype=torch.float64)


class DeviceSchedule:
    """The LR scheduler's seat in the run loop (log the lr, checkpoint, resume): the step count
    lives on the host, the per-step values in device tables that the captured graph reads."""

    def __init__(self, lr: torch.Tensor, beta1: torch.Tensor, device: torch.device) -> None:
        self.lr_host = lr
        self.lr = lr.to(device, torch.float32)  # (total_steps + 1,)
        self.beta1 = beta1.to(device, torch.float32)
        self.step_count = 0  # steps done; advanced by whole epochs

    def get_last_lr(self) -> list[float]:
        return [float(self.lr_host[self.step_count])]

    def state_dict(self) -> dict[str, int]:
        return {"step_count": self.step_count}

    def load_state_dict(self, state: dict[str, int]) -> None:
        self.step_count = int(state["step_count"])


def training_step_kind(params: TrainParams, runtime: Runtime) -> str:
    """Which training step a run uses: `cuda-graph`, `cuda-eager` (the same step uncaptured) or
    `loop` (the per-batch CPU loop; also SGD on CUDA, whose torch step needs a host-side lr)."""
    if runtime.device.type != "cuda" or params.optimizer != "adamw":
        return "loop"
    return "cuda-graph" if params.cuda_graphs else "cuda-eager"


class CapturedTrainer:
    """Trains `model` on `images[index]`, all on one device, `batch_size` images per step.

    `reference` is the (optimizer, scheduler) pair `make_optimizer` built for this run: its
    hyper-parameters and schedule are copied, so both paths train with the same settings."""

    def __init__(
        self,
        model: nn.Module,
        images: torch.Tensor,
        labels: torch.Tensor,
        index: torch.Tensor,
        params: TrainParams,
        runtime: Runtime,
        reference: tuple[torch.optim.Optimizer, Any],
        total_steps: int,
        capture: bool,
    ) -> None:
        dev = runtime.device
        self.model, self.params, self.runtime, self.capture = model, params, runtime, capture
        self.images, self.labels = images, labels  # (N, 28, 28) uint8, (N,) on `dev`
        self.index = index.to(dev)
        self.batch_size = params.batch_size
        self.steps_per_epoch = len(index) // params.batch_size  # drop the ragged tail, as the CPU loop
        if self.steps_per_epoch == 0:
            raise CnnLstmError(f"train.batch_size: {params.batch_size} is more than the {len(index)} training images")
        group = reference[0].param_groups[0]
        # Tensor lr and betas: the graph reads their current values from memory at every replay.
        self.optimizer = torch.optim.AdamW(
            model.parameters(),
            lr=torch.tensor(group["lr"], device=dev),
            betas=(torch.tensor(group["betas"][0], device=dev), torch.tensor(group["betas"][1], device=dev)),
            eps=group["eps"],
            weight_decay=group["weight_decay"],
            capturable=dev.type == "cuda",
            foreach=dev.type == "cuda",  # the CPU (tests) takes the single-tensor path, which accepts tensor lr
        )
        self.schedule = DeviceSchedule(*schedule_tables(*reference, total_steps), dev)  # steps `reference`
        # Static buffers: the graph is captured reading these addresses, so they are refilled in place.
        self.order = torch.zeros(self.steps_per_epoch, self.batch_size, dtype=torch.long, device=dev)
        self.draws = draw_augment(params.augment, (self.steps_per_epoch, self.batch_size), torch.Generator(dev))
        self.batch = torch.zeros(1, dtype=torch.long, device=dev)  # step within the epoch
        self.global_step = torch.zeros(1, dtype=torch.long, device=dev)  # step within the run
        self.loss_sum = torch.zeros((), device=dev)
        self.graph: torch.cuda.CUDAGraph | None = None

    def _autocast(self) -> contextlib.AbstractContextManager:
        """bf16 autocast without its weight-cast cache, which would outlive one captured step."""
        if self.runtime.amp_dtype is None:
            return contextlib.nullcontext()
        return torch.autocast(self.runtime.device.type, dtype=self.runtime.amp_dtype, cache_enabled=False)

    def _step(self) -> None:
        """One training step, all from device memory: the code the graph captures."""
        batch = self.order.index_select(0, self.batch).squeeze(0)  # (B,)
        x = apply_augment(to_pixels(self.images.index_select(0, batch)), self.params.augment,
                          self.draws.select(self.batch))  # (B, 1, 28, 28)
        y = self.labels.index_select(0, batch)
        for group in self.optimizer.param_groups:
            group["lr"].copy_(self.schedule.lr.index_select(0, self.global_step).squeeze(0))
            group["betas"][0].copy_(self.schedule.beta1.index_select(0, self.global_step).squeeze(0))
        with self._autocast():
            logits = self.model(x)
        loss = F.cross_entropy(logits.float(), y, label_smoothing=self.params.label_smoothing)
        self.optimizer.zero_grad(set_to_none=True)
        loss.backward()
        self.optimizer.step()
        self.loss_sum += loss.detach()
        self.batch += 1
        self.global_step += 1

    def _new_epoch(self, seed: int) -> None:
        """Draw the epoch's order and augmentation on the device; reset the counters (no sync)."""
        dev = self.runtime.device
        generator = torch.Generator(dev).manual_seed(seed)
        used = self.steps_per_epoch * self.batch_size
        perm = torch.randperm(len(self.index), generator=generator, device=dev)[:used]
        self.order.copy_(self.index[perm].view(self.steps_per_epoch, self.batch_size))  # (steps, B)
        fresh = draw_augment(self.params.augment, (self.steps_per_epoch, self.batch_size), generator)
        for static, new in zip(self.draws, fresh):
            if static is not None:
                static.copy_(new)
        self.batch.zero_()
        self.global_step.fill_(self.schedule.step_count)
        self.loss_sum.zero_()

    def _capture(self) -> torch.cuda.CUDAGraph:
        """Warm up on a side stream, put every piece of state back, then capture one step.
        Restoring makes the captured run start exactly where the eager one would."""
        model_state = [t.clone() for t in self._model_and_counters()]
        optimizer_state = [t.clone() for t in self._optimizer_state()]  # empty on a fresh run
        side = torch.cuda.Stream()
        side.wait_stream(torch.cuda.current_stream())
        with torch.cuda.stream(side):
            for _ in range(min(WARMUP_STEPS, self.steps_per_epoch)):  # stay inside the epoch's buffers
                self._step()
        torch.cuda.current_stream().wait_stream(side)
        for tensor, value in zip(self._model_and_counters(), model_state, strict=True):
            tensor.copy_(value)
        if optimizer_state:
            for tensor, value in zip(self._optimizer_state(), optimizer_state, strict=True):
                tensor.copy_(value)
        else:  # zeros are exactly the state AdamW creates on its first step
            for tensor in self._optimizer_state():
                tensor.zero_()
        graph = torch.cuda.CUDAGraph()
        with torch.cuda.graph(graph):
            self._step()
        return graph

    def _model_and_counters(self) -> list[torch.Tensor]:
        """Weights, BatchNorm statistics and the step counters: what a step mutates besides AdamW."""
        return [*self.model.state_dict().values(), self.batch, self.global_step, self.loss_sum]

    def _optimizer_state(self) -> list[torch.Tensor]:
        return [v for state in self.optimizer.state.values() for v in state.values() if torch.is_tensor(v)]

    def _place_hyperparameters(self) -> None:
        """lr and betas as tensors on the device; a resumed optimizer state brings them back on the CPU."""
        dev = self.runtime.device
        for group in self.optimizer.param_groups:
            group["lr"] = torch.as_tensor(group["lr"], dtype=torch.float32).to(dev)
            group["betas"] = tuple(torch.as_tensor(b, dtype=torch.float32).to(dev) for b in group["betas"])

    def train_epoch(self, seed: int) -> tuple[float, float]:
        """One epoch with order and augmentation from `seed`; return (mean loss, seconds)."""
        self.model.train()
        started = time.perf_counter()
        if self.graph is None:  # once captured, the graph holds these tensors' addresses
            self._place_hyperparameters()
        self._new_epoch(seed)
        if self.capture and self.graph is None:
            self.graph = self._capture()
        for _ in range(self.steps_per_epoch):
            if self.graph is not None:
                self.graph.replay()
            else:
                self._step()
        mean_loss = (self.loss_sum / max(self.steps_per_epoch, 1)).item()  # the epoch's one sync
        self.schedule.step_count += self.steps_per_epoch
        return mean_loss, time.perf_counter() - started
