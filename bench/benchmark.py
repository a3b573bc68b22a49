"""Speed of every model of the study on this machine, next to a naive reference loop.

    python bench/benchmark.py                    # every model of params.yaml, a few minutes
    python bench/benchmark.py --quick            # one short call per measurement, about a minute
    python bench/benchmark.py --models cnn32_lstm,lstm --seconds 5 --threads 1

Prints the machine, its measured matmul peak, then one table row per model. Not a test: it
asserts nothing; see bench/README.md for how to read it.
"""

from __future__ import annotations

import argparse
import dataclasses
import tempfile
from pathlib import Path

import torch

DEFAULT_THREADS = torch.get_num_threads()  # torch's own choice, read before our runtime sets threads

import machine  # noqa: E402  (bench/ is the script's folder, so its modules import by name)
import measure  # noqa: E402
import naive  # noqa: E402

from cnnlstm.data.fashion_mnist import load_split  # noqa: E402
from cnnlstm.core.errors import exit_on_error  # noqa: E402
from cnnlstm.models.configs import parse_config  # noqa: E402
from cnnlstm.models.registry import build_model  # noqa: E402
from cnnlstm.core.params import Params, load_params  # noqa: E402
from cnnlstm.core.runtime import Runtime, resolve_runtime  # noqa: E402

BIG_BATCH = 1000  # the batched-inference size
TRAIN_FLOPS_PER_FORWARD = 3  # forward + backward (gradients of inputs and of weights)


@dataclasses.dataclass(frozen=True)
class Row:
    name: str
    parameters: int
    flops: int  # forward, per image
    train: float  # images/s of our training step
    naive: float  # images/s of the naive reference loop
    infer_big: float  # images/s at BIG_BATCH
    infer_eval: float  # images/s at eval.batch_size
    latency_ms: float  # one image, median


def build(params: Params, name: str) -> torch.nn.Module:
    family, config = parse_config(params.model_spec(name), params.model_section(name))
    torch.manual_seed(0)
    return build_model(family, config)


def bench_model(
    params: Params, name: str, images: torch.Tensor, labels: torch.Tensor, runtime: Runtime,
    reference: naive.datasets.FashionMNIST, window: measure.Window,
) -> Row:
    """All measurements of one model; the naive loop gets a fresh copy of the architecture."""
    model = build(params, name)
    model.pixel_mean.fill_(naive.MEAN)
    model.pixel_std.fill_(naive.STD)
    model.to(runtime.device)
    train = measure.training_rate(model, images, labels, params.train, runtime, window)
    with naive.num_threads(DEFAULT_THREADS):
        reference_rate = naive.training_rate(build(params, name), reference, runtime.device, window)
    return Row(
        name=name,
        parameters=sum(p.numel() for p in model.parameters()),
        flops=measure.flops_per_image(model),
        train=train,
        naive=reference_rate,
        infer_big=measure.inference_rate(model, images, runtime, BIG_BATCH, window),
        infer_eval=measure.inference_rate(model, images, runtime, params.eval.batch_size, window),
        latency_ms=measure.latency_ms(model, images, runtime, window),
    )


def fit_images(params: Params, total: int) -> int:
    """Images one fold trains on: all but the held-out fold, minus the validation slice."""
    return round(total * params.cv.subset * (1 - 1 / params.cv.folds) * (1 - params.train.val_fraction))


class Table:
    """A Markdown table printed row by row, so a long run shows progress."""

    COLUMNS = (
        ("model", 18), ("params", 8), ("MFLOP/img", 9), ("train img/s", 11), ("naive img/s", 11),
        ("speed-up", 8), ("s/epoch", 7), ("train GFLOP/s", 13), ("% peak", 6),
        (f"infer img/s @{BIG_BATCH}", 17), ("infer img/s @{eval}", 17), ("infer % peak", 12), ("latency ms", 10),
    )

    def __init__(self, eval_batch: int, epoch_images: int, peak: float) -> None:
        self.widths = [w for _, w in self.COLUMNS]
        self.epoch_images = epoch_images
        self.peak = peak
        titles = [t.replace("{eval}", str(eval_batch)) for t, _ in self.COLUMNS]
        print(self._line(titles))
        print(self._line(["-" * w for w in self.widths]), flush=True)

    def _line(self, cells: list[str]) -> str:
        padded = [c.rjust(w) if i else c.ljust(w) for i, (c, w) in enumerate(zip(cells, self.widths))]
        return "| " + " | ".join(padded) + " |"

    def add(self, row: Row) -> None:
        train_gflops = TRAIN_FLOPS_PER_FORWARD * row.flops * row.train / 1e9
        infer_gflops = row.flops * max(row.infer_big, row.infer_eval) / 1e9
        print(self._line([
            row.name, f"{row.parameters:,}", f"{row.flops / 1e6:.2f}", f"{row.train:,.0f}", f"{row.naive:,.0f}",
            f"{row.train / row.naive:.2f}x", f"{self.epoch_images / row.train:.0f}", f"{train_gflops:.1f}",
            f"{100 * train_gflops / self.peak:.0f}%", f"{row.infer_big:,.0f}", f"{row.infer_eval:,.0f}",
            f"{100 * infer_gflops / self.peak:.0f}%", f"{row.latency_ms:.2f}",
        ]), flush=True)


def parse_args(argv: list[str] | None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--params", default="params.yaml", help="params file (default: %(default)s)")
    parser.add_argument("--raw", default="data/raw", type=Path, help="folder with the four .gz files")
    parser.add_argument("--models", help="comma-separated names (default: study.models + the proposed model)")
    parser.add_argument("--seconds", type=float, default=2.0, help="time window per measurement")
    parser.add_argument("--threads", type=int, help="CPU threads of our runtime (default: train.threads; 0: per core)")
    parser.add_argument("--quick", action="store_true", help="one short call per measurement: a rough look")
    return parser.parse_args(argv)


def _dtype_name(dtype: torch.dtype | None) -> str:
    return str(dtype or torch.float32).removeprefix("torch.")


def print_header(runtime: Runtime, params: Params, window: measure.Window) -> float:
    """The machine, its matmul peak and the settings compared; returns the peak of our precision."""
    for line in machine.describe():
        print(line)
    peaks = {d: machine.matmul_peak(runtime.device, d, window.seconds) for d in machine.peak_dtypes(runtime.device)}
    print("matmul peak (torch.mm): " + ", ".join(f"{_dtype_name(d)} {g:,.1f} GFLOP/s" for d, g in peaks.items()))
    print(
        f"ours: {runtime.device.type}, {_dtype_name(runtime.amp_dtype)}, {torch.get_num_threads()} threads, "
        f"batch {params.train.batch_size}; "
        f"naive: torchvision FashionMNIST + per-sample transforms, fp32, {DEFAULT_THREADS} threads, "
        f"batch {naive.BATCH_SIZE}; window {window.seconds:g} s per measurement\n"
    )
    return peaks[runtime.amp_dtype or torch.float32]


def print_footer(rows: list[Row], params: Params, runtime: Runtime, epoch_images: int, peak: float) -> None:
    runs = params.cv.folds * params.train.epochs
    hours = sum(runs * epoch_images / r.train for r in rows) / 3600
    print(
        f"\nGFLOP/s count training as {TRAIN_FLOPS_PER_FORWARD}x the forward FLOPs; % peak is of the "
        f"{_dtype_name(runtime.amp_dtype)} matmul peak; infer % peak uses the faster batch size.\n"
        f"s/epoch: {epoch_images:,} training images per fold. Training steps of these {len(rows)} models x "
        f"{params.cv.folds} folds x {params.train.epochs} epochs: about {hours:.1f} h (validation, evaluation "
        "and stage start-up extra)."
    )
    proposed = [r for r in rows if r.name == params.model["name"]]
    for r in proposed:  # the targets, next to what the hardware allows at all
        print(
            f"{r.name} (proposed): training {r.train / r.naive:.2f}x the naive loop; inference "
            f"{max(r.infer_big, r.infer_eval):,.0f} img/s, at most {peak * 1e9 / r.flops:,.0f} img/s at 100% of the "
            f"matmul peak; latency {r.latency_ms:.2f} ms"
        )
    print("Medians of short windows on a possibly shared machine: compare ratios within one run, not across runs.")


@exit_on_error
def main(argv: list[str] | None = None) -> None:
    args = parse_args(argv)
    params = load_params(args.params)
    names = args.models.split(",") if args.models else list(params.all_models)
    for name in names:
        params.model_spec(name)  # an unknown name fails now, listing the known ones
    window = measure.Window(0.25, 1) if args.quick else measure.Window(args.seconds)
    threads = params.train.threads if args.threads is None else args.threads
    runtime = resolve_runtime(params.train.device, params.train.precision, threads)
    split = load_split(args.raw, "train")
    images = torch.tensor(split.images, device=runtime.device)  # resident (N, 28, 28) uint8; a copy, as
    labels = torch.tensor(split.labels, device=runtime.device)  # the cached arrays are read-only

    peak = print_header(runtime, params, window)
    epoch_images = fit_images(params, len(split.labels))
    table = Table(params.eval.batch_size, epoch_images, peak)
    rows = []
    with tempfile.TemporaryDirectory() as tmp:
        reference = naive.dataset(naive.prepare_root(args.raw, Path(tmp)))
        for name in names:
            rows.append(bench_model(params, name, images, labels, runtime, reference, window))
            table.add(rows[-1])
    print_footer(rows, params, runtime, epoch_images, peak)


if __name__ == "__main__":
    main()
