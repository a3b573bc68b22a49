"""GPU benchmark of the study's models: the captured training step against the eager one.

    python bench/gpu.py                                  # every model, about 2 minutes on an H200
    python bench/gpu.py --models cnn32_lstm,lstm --profile profiles/converged.yaml --out rows.tsv
    python bench/gpu.py --cpu --models cnn16                # the plumbing, on the CPU (CI)

Prints the GPU, its measured bf16 matmul rate, process start-up seconds, then one row per model:
training img/s of the same step (training/step.py) eager and captured at batch 128 and at the
profile's batch, side by side in this one run; inference img/s (the evaluate stage's path at the
profile's eval settings); the share of the matmul rate that training uses; and the converged
study's projected wall-clock. Images are random uint8 of Fashion-MNIST's shape: these models'
speed does not depend on pixel values, and the benchmark needs no data set.
"""

from __future__ import annotations

import argparse
import dataclasses
import statistics
import subprocess
import sys
import time

import torch

from cnnlstm.core.errors import CnnLstmError, exit_on_error
from cnnlstm.core.params import Params, parse_params
from cnnlstm.core.runtime import Runtime, resolve_runtime
from cnnlstm.gate.profile import profiled_params
from cnnlstm.models.cost import flops_per_image, timed_predict
from cnnlstm.models.registry import build_model
from cnnlstm.training.progress import Progress
from cnnlstm.training.step import TrainStep, train_one_epoch

SMALL_BATCH = 128  # the CPU schedule's batch, where the eager step is most launch-bound
TRAIN_FLOPS_PER_FORWARD = 3  # forward + backward (gradients of inputs and of weights)
DVC_SECONDS_PER_STAGE = 0.3  # DVC's own bookkeeping per stage (../shared/DVC_NOTES.md)
STARTUP_RUNS = 3


def bf16_matmul_tflops(n: int = 8192, calls: int = 10) -> float:
    """Mean rate of `calls` bf16 n x n products after three warm-ups, timed with CUDA events."""
    a = torch.randn(n, n, device="cuda", dtype=torch.bfloat16)
    b = torch.randn(n, n, device="cuda", dtype=torch.bfloat16)
    for _ in range(3):
        a @ b
    start, end = torch.cuda.Event(enable_timing=True), torch.cuda.Event(enable_timing=True)
    start.record()
    for _ in range(calls):
        a @ b
    end.record()
    end.synchronize()
    return 2 * n**3 * calls / (start.elapsed_time(end) / 1000) / 1e12


def startup_seconds(code: str) -> float:
    """Median wall-clock of a fresh `python -c code`: what every DVC stage process pays."""
    times = []
    for _ in range(STARTUP_RUNS):
        started = time.perf_counter()
        subprocess.run([sys.executable, "-c", code], check=True)
        times.append(time.perf_counter() - started)
    return statistics.median(times)


def training_rate(
    params: Params, name: str, images: torch.Tensor, labels: torch.Tensor, runtime: Runtime, batch: int,
    capture: bool,
) -> tuple[float, float]:
    """(img/s of a whole epoch, seconds of the first epoch beyond that: warm-up and capture)."""
    tp = dataclasses.replace(params.train, batch_size=batch, cuda_graphs=capture)
    torch.manual_seed(0)
    model = build_model(*params.configs[name]).to(runtime.device)
    index = torch.arange(len(images))
    trainer = TrainStep(model, images, labels, index, tp, runtime, len(index) // batch * 2)
    progress = Progress(name, 2)
    _, first = train_one_epoch(trainer, 0, progress)
    _, second = train_one_epoch(trainer, 1, progress)
    return trainer.steps_per_epoch * batch / second, max(first - second, 0.0)


def measure_model(
    params: Params, name: str, images: torch.Tensor, labels: torch.Tensor, runtime: Runtime, eval_runtime: Runtime,
    peak: float, capture: bool,
) -> dict[str, float]:
    """One model's row: training img/s eager and captured at batch 128 and the profile's batch,
    inference img/s, the share of the matmul peak, and its projected seconds in the study."""
    tp = params.train
    row = {"mflop_per_image": flops_per_image(build_model(*params.configs[name])) / 1e6}
    for batch in dict.fromkeys((SMALL_BATCH, tp.batch_size)):
        row[f"eager@{batch}"], _ = training_rate(params, name, images, labels, runtime, batch, capture=False)
        if capture:
            row[f"graph@{batch}"], row["capture_s"] = training_rate(params, name, images, labels, runtime, batch, True)
    model = build_model(*params.configs[name]).to(eval_runtime.device)
    _, row[f"infer@{params.eval.batch_size}"] = timed_predict(model, images[:10_000], eval_runtime,
                                                             params.eval.batch_size)
    best = row.get(f"graph@{tp.batch_size}", row[f"eager@{tp.batch_size}"])
    row["peak_share"] = TRAIN_FLOPS_PER_FORWARD * row["mflop_per_image"] * 1e6 * best / (peak * 1e12) if peak else 0.0
    row["study_s"] = len(params.cv.fold_ids) * (tp.epochs * len(images) / best + row.get("capture_s", 0.0))
    return row


class Rows:
    """Writes each row to the TSV the moment it is measured: a later failure loses nothing before it."""

    def __init__(self, path: str | None) -> None:
        self.path, self.columns = path, None

    def write(self, name: str, row: dict[str, object]) -> None:
        cells = {"model": name, **row}
        print("  ".join(f"{k} {v:,.2f}" if isinstance(v, float) else f"{k} {v}" for k, v in cells.items()), flush=True)
        if self.path is None:
            return
        with open(self.path, "a") as out:
            if self.columns is None:
                self.columns = list(cells)
                out.write("\t".join(self.columns) + "\n")
            out.write("\t".join(str(cells.get(c, "")) for c in self.columns) + "\n")


@exit_on_error
def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--params", default="params.yaml")
    parser.add_argument("--profile", default="profiles/converged.yaml", help="the schedule to project")
    parser.add_argument("--models", help="comma-separated names (default: every model of the study)")
    parser.add_argument("--out", help="TSV file: one row per model, written as soon as it is measured")
    parser.add_argument("--cpu", action="store_true",
                        help="dry run of the plumbing on the CPU: 2,048 images, eager only, no capture")
    args = parser.parse_args()
    if not args.cpu and not torch.cuda.is_available():
        raise CnnLstmError("bench/gpu.py needs a CUDA GPU and torch sees none (run it on the device machine, or --cpu)")
    params = parse_params(profiled_params(args.params, args.profile), f"{args.params} + {args.profile}")
    if args.cpu:
        params = dataclasses.replace(params, train=dataclasses.replace(params.train, device="cpu", precision="auto"),
                                     eval=dataclasses.replace(params.eval, device="cpu"))
    tp, ev = params.train, params.eval
    names = args.models.split(",") if args.models else list(params.all_models)
    runtime = resolve_runtime(tp.device, tp.precision)
    eval_runtime = resolve_runtime(ev.device, ev.precision)

    folds = len(params.cv.fold_ids)
    fit_images = 2048 if args.cpu else round(60_000 * params.cv.subset * (1 - 1 / params.cv.folds) * (1 - tp.val_fraction))
    images = torch.randint(0, 256, (fit_images, 28, 28), dtype=torch.uint8, device=runtime.device)
    labels = torch.randint(0, 10, (fit_images,), device=runtime.device)
    rows = Rows(args.out)
    if not args.cpu:
        peak = bf16_matmul_tflops()
        python_s = startup_seconds("pass")
        import_s = startup_seconds("import cnnlstm.training.run")
        cuda_s = startup_seconds("import cnnlstm.training.run, torch; torch.zeros(1, device='cuda')")  # CUDA init
        print(f"GPU: {torch.cuda.get_device_name()}; torch {torch.__version__}; Python {sys.version.split()[0]}")
        print(f"bf16 matmul (8192^3, mean of 10 after 3 warm-ups): {peak:.0f} TFLOP/s")
        rows.write("_machine", {"python_s": python_s, "import_s": import_s, "cuda_init_s": cuda_s, "peak_tflops": peak})
    else:
        peak, cuda_s = 0.0, 0.0
    print(f"profile {args.profile}: {tp.epochs} epochs, batch {tp.batch_size}, lr {tp.lr}, {tp.precision}, "
          f"augment {tp.augment}; {folds} folds x {fit_images:,} training images per epoch", flush=True)
    study_seconds = 0.0
    for name in names:
        try:
            row = measure_model(params, name, images, labels, runtime, eval_runtime, peak, capture=not args.cpu)
        except Exception as exc:  # noqa: BLE001  one model's failure must not cost the others' numbers
            rows.write(name, {"error": f"{type(exc).__name__}: {str(exc).splitlines()[0] if str(exc) else ''}"})
            continue
        finally:
            if torch.cuda.is_available():
                torch.cuda.empty_cache()
        study_seconds += row["study_s"]
        rows.write(name, row)
    stages = folds * len(names) + len(names) + 5  # train runs, evaluate per model, download..report
    overhead = stages * (cuda_s + DVC_SECONDS_PER_STAGE)
    print(f"projected converged study (dvc repro, serial): training {study_seconds:.0f} s + {stages} stage "
          f"start-ups x {cuda_s + DVC_SECONDS_PER_STAGE:.1f} s = {study_seconds + overhead:.0f} s "
          f"({(study_seconds + overhead) / 60:.1f} min); validation, evaluation and plots extra", flush=True)


if __name__ == "__main__":
    main()
