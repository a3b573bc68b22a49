"""Today's committed training step against this tree's, side by side in one run (issue #24).

Each side is a worker process (step_worker.py) importing its own tree's `cnnlstm`: the base
revision's `src/` unpacked from git into a temporary folder, and this tree's. Their calls alternate
(measure.side_by_side: A B A B, the side that starts alternating per repeat) at equal precision,
threads, batch and recipe, and each repeat gives one ratio; the speed-up is the median ratio.
"""

from __future__ import annotations

import dataclasses
import io
import json
import os
import statistics
import subprocess
import sys
import tarfile
from pathlib import Path
from typing import Any

import torch

import machine
import measure

from cnnlstm.core.errors import CnnLstmError

BENCH = Path(__file__).resolve().parent
REPO = BENCH.parent
TRAIN_FLOPS_PER_FORWARD = 3  # forward + backward (gradients of inputs and of weights)


def unpack_base(revision: str, folder: Path) -> Path:
    """The `src/` tree of `revision` under `folder` (git archive: no worktree is registered)."""
    done = subprocess.run(["git", "-C", str(REPO), "archive", "--format=tar", revision, "src"], capture_output=True)
    if done.returncode != 0:
        raise CnnLstmError(f"bench/config.yaml: step.base: git archive {revision}: {done.stderr.decode().strip()}")
    with tarfile.open(fileobj=io.BytesIO(done.stdout)) as archive:
        archive.extractall(folder, filter="data")
    return folder / "src"


class Worker:
    """A step_worker.py process on the `cnnlstm` of `src`; one command at a time."""

    def __init__(self, src: Path, raw: Path, threads: int, train: dict[str, Any]) -> None:
        env = {**os.environ, "PYTHONPATH": str(src)}
        self.process = subprocess.Popen(
            [sys.executable, str(BENCH / "step_worker.py")], stdin=subprocess.PIPE, stdout=subprocess.PIPE,
            env=env, cwd=REPO, text=True,
        )
        self._send({"raw": str(raw), "threads": threads, "train": train}, answer=False)

    def _send(self, command: dict[str, Any], answer: bool = True) -> dict[str, Any]:
        self.process.stdin.write(json.dumps(command) + "\n")
        self.process.stdin.flush()
        if not answer:
            return {}
        line = self.process.stdout.readline()
        if not line:
            raise CnnLstmError(f"bench step worker exited with {self.process.wait()} (its stderr is above)")
        return json.loads(line)

    def run(self, model: str, spec: dict[str, Any], precision: str, batches: int) -> int:
        return self._send({"model": model, "spec": spec, "precision": precision, "batches": batches})["images"]

    def traffic(self, model: str, spec: dict[str, Any], precision: str) -> int:
        return self._send({"model": model, "spec": spec, "precision": precision, "traffic": True})["bytes"]

    def close(self) -> None:
        self.process.stdin.close()
        self.process.wait()


@dataclasses.dataclass(frozen=True)
class StepRow:
    name: str
    precision: str
    flops: int  # forward, per image
    bytes_per_image: float  # what this tree's step ops read and write, per image
    rates: measure.Comparison  # ours: this tree; naive: the base revision


def compare_model(
    new: Worker, base: Worker, name: str, spec: dict[str, Any], precision: str, window: measure.Window,
    repeats: int, batches_per_epoch: int, flops: int, batch_size: int,
) -> StepRow:
    cpu = torch.device("cpu")
    sides = [
        measure.sized(lambda units, w=w: w.run(name, spec, precision, units), batches_per_epoch, window, cpu)
        for w in (new, base)
    ]
    rates = measure.side_by_side(sides[0], sides[1], window, repeats, cpu)
    per_image = new.traffic(name, spec, precision) / batch_size
    return StepRow(name, precision, flops, per_image, rates)


def print_limits(seconds: float) -> dict[str, float]:
    """The machine's streaming bandwidth (GB/s, a copy larger than any cache and one the size of a
    feature map) and matmul peak (GFLOP/s) per precision: the limits the step is compared with."""
    limits = {
        "stream": machine.stream_bandwidth(256 << 20, seconds),
        "stream_l2": machine.stream_bandwidth(4 << 20, seconds),
    }
    for dtype in machine.peak_dtypes(cpu := torch.device("cpu")):
        limits[str(dtype).removeprefix("torch.").replace("float32", "fp32").replace("bfloat16", "bf16")] = (
            machine.matmul_peak(cpu, dtype, seconds)
        )
    print(
        f"limits: copy bandwidth {limits['stream']:,.1f} GB/s (256 MiB), {limits['stream_l2']:,.1f} GB/s "
        f"(4 MiB, about a feature map); matmul peak "
        + ", ".join(f"{p} {limits[p]:,.1f} GFLOP/s" for p in ("fp32", "bf16") if p in limits)
    )
    return limits


def print_rows(rows: list[StepRow], limits: dict[str, float], header: bool) -> None:
    if header:
        names = ("model", "prec.", "base img/s [min-max]", "new img/s [min-max]", "speed-up [min-max]",
                 "new GB/s", "% copy bw", "new GFLOP/s", "% peak")
        print("| " + " | ".join(names) + " |")
        print("|" + "|".join("---" for _ in names) + "|")
    for row in rows:
        new = statistics.median(row.rates.ours)
        gbs = row.bytes_per_image * new / 1e9
        gflops = TRAIN_FLOPS_PER_FORWARD * row.flops * new / 1e9
        print("| " + " | ".join([
            row.name, row.precision,
            measure.spread(row.rates.naive, "{:,.0f}"), measure.spread(row.rates.ours, "{:,.0f}"),
            measure.spread(row.rates.ratios, "{:.2f}x"), f"{gbs:.1f}", f"{100 * gbs / limits['stream']:.0f}%",
            f"{gflops:.1f}", f"{100 * gflops / limits[row.precision]:.0f}%",
        ]) + " |", flush=True)


def print_sums(rows: list[StepRow], epoch_images: int) -> None:
    """Per precision: seconds for one epoch of every model, base and new, and their ratio. Per
    repeat the times add up over models (repeat r of every model), so the spread is of sums."""
    for precision in dict.fromkeys(r.precision for r in rows):
        chosen = [r for r in rows if r.precision == precision]
        repeats = min(len(r.rates.ours) for r in chosen)
        base = [sum(epoch_images / r.rates.naive[i] for r in chosen) for i in range(repeats)]
        new = [sum(epoch_images / r.rates.ours[i] for r in chosen) for i in range(repeats)]
        ratios = tuple(b / n for b, n in zip(base, new))
        print(
            f"sum over {len(chosen)} models, {precision}: one epoch ({epoch_images:,} images) of each takes "
            f"{measure.spread(base, '{:.1f}')} s on the base, {measure.spread(new, '{:.1f}')} s on this tree: "
            f"speed-up {measure.spread(ratios, '{:.2f}x')} (per-repeat sums)"
        )
