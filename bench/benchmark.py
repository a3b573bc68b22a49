"""Training and inference speed of the study's models on this machine, next to a naive loop.

    python bench/benchmark.py                    # every model of bench/config.yaml, each precision
    python bench/benchmark.py --quick            # the proposed model only, shorter windows: about a minute
    python bench/benchmark.py --models cnn32_lstm,lstm --threads 1
    python bench/benchmark.py --part step        # only the base revision's step against this tree's

Prints the machine; then (part `step`, bench/compare.py) the base revision's training step against
this tree's on the converged recipe, per model and summed, with the machine's copy bandwidth and
matmul peak; then (part `naive`) its measured matmul peak and one table row per model and precision
(fp32; bf16 too where the hardware has it), against a naive loop. Both loops of a row run at that
precision and the same thread count.
The configuration is fixed (bench/config.yaml), never params.yaml. Not a test: it asserts
nothing; see bench/README.md for how to read it.
"""

from __future__ import annotations

import argparse
import dataclasses
import os
import statistics
import tempfile
from pathlib import Path
from typing import Any

# OpenMP threads that sleep rather than spin while they wait: on a machine shared with other work,
# a spinning 2-thread loop stalls whenever another process holds one of its cores, which made
# ratios swing 0.7-3x between repeats. Both loops run under it; set before torch loads OpenMP.
os.environ.setdefault("OMP_WAIT_POLICY", "PASSIVE")

import torch  # noqa: E402

import compare  # noqa: E402  (bench/ is the script's folder, so its modules import by name)
import machine  # noqa: E402
import measure  # noqa: E402
import naive  # noqa: E402

from cnnlstm.core.errors import CnnLstmError, exit_on_error  # noqa: E402
from cnnlstm.core.model_configs import parse_config  # noqa: E402
from cnnlstm.core.params import TrainParams, from_dict, read_yaml  # noqa: E402
from cnnlstm.core.runtime import Runtime, resolve_runtime  # noqa: E402
from cnnlstm.data.fashion_mnist import load_split  # noqa: E402
from cnnlstm.data.source import find_source  # noqa: E402
from cnnlstm.models.cost import count_parameters, flops_per_image, latency_ms  # noqa: E402
from cnnlstm.models.registry import build_model  # noqa: E402

CONFIG = Path(__file__).with_name("config.yaml")
TRAIN_FLOPS_PER_FORWARD = 3  # forward + backward (gradients of inputs and of weights)
PRECISIONS = {torch.float32: "fp32", torch.bfloat16: "bf16"}


@dataclasses.dataclass(frozen=True)
class Timing:
    repeats: int  # side-by-side pairs of windows
    seconds: float  # per loop and repeat


@dataclasses.dataclass(frozen=True)
class StepConfig:
    base: str  # git revision of today's step
    augment: dict[str, Any]  # the converged recipe's augmentation, replacing train.augment
    timing: dict[str, Timing]  # "full" | "quick"


@dataclasses.dataclass(frozen=True)
class BenchConfig:
    proposed: str
    quick_models: tuple[str, ...]
    epoch_images: int
    eval_batch_sizes: tuple[int, ...]
    timing: dict[str, Timing]  # "full" | "quick"
    train: TrainParams
    models: dict[str, tuple[str, Any]]  # name -> (family, frozen config)
    specs: dict[str, dict[str, Any]]  # name -> the entry as written (what the step workers parse)
    step: StepConfig


def load_config(path: Path = CONFIG) -> BenchConfig:
    raw = read_yaml(path)
    try:
        return BenchConfig(
            proposed=raw["proposed"],
            quick_models=tuple(raw["quick_models"]),
            epoch_images=raw["epoch_images"],
            eval_batch_sizes=tuple(raw["eval_batch_sizes"]),
            timing={mode: from_dict(Timing, t, f"{path}: timing.{mode}") for mode, t in raw["timing"].items()},
            train=from_dict(TrainParams, raw["train"], f"{path}: train"),
            models={name: parse_config(spec, f"{path}: models.{name}") for name, spec in raw["models"].items()},
            specs=raw["models"],
            step=StepConfig(
                base=str(raw["step"]["base"]),
                augment=raw["step"]["augment"],
                timing={m: from_dict(Timing, t, f"{path}: step.timing.{m}") for m, t in raw["step"]["timing"].items()},
            ),
        )
    except KeyError as exc:
        raise CnnLstmError(f"{path}: missing key {exc}") from None


@dataclasses.dataclass(frozen=True)
class Row:
    name: str
    precision: str
    parameters: int
    flops: int  # forward, per image
    training: measure.Comparison
    inference: dict[int, float]  # images/s by batch size
    latency_ms: float  # one image, median


def build(config: BenchConfig, name: str) -> torch.nn.Module:
    torch.manual_seed(0)  # both loops start from the same weights
    return build_model(*config.models[name])


def bench_model(
    config: BenchConfig, name: str, images: torch.Tensor, labels: torch.Tensor, runtime: Runtime,
    reference: naive.datasets.FashionMNIST, timing: Timing, flops: int,
) -> Row:
    """All measurements of one model at one precision; each loop trains its own fresh copy."""
    window = measure.Window(timing.seconds)
    model = build(config, name)
    model.pixel_mean.fill_(naive.MEAN)
    model.pixel_std.fill_(naive.STD)
    model.to(runtime.device)
    batch = config.train.batch_size
    ours = measure.sized(
        measure.our_training(model, images, labels, config.train, runtime), len(images) // batch, window,
        runtime.device,
    )
    theirs = measure.sized(
        naive.training(build(config, name), reference, batch, runtime), len(images) // batch, window, runtime.device
    )
    training = measure.side_by_side(ours, theirs, window, timing.repeats, runtime.device)
    return Row(
        name=name,
        precision=PRECISIONS[runtime.amp_dtype or torch.float32],
        parameters=count_parameters(model),
        flops=flops,
        training=training,
        inference={b: measure.inference_rate(model, images, runtime, b, window) for b in config.eval_batch_sizes},
        latency_ms=latency_ms(model, images[:1], runtime),
    )


class Table:
    """A Markdown table printed row by row, so a long run shows progress."""

    def __init__(self, config: BenchConfig, peaks: dict[str, float]) -> None:
        self.config = config
        self.peaks = peaks
        self.columns = (
            ("model", 18), ("prec.", 5), ("params", 8), ("MFLOP/img", 9), ("ours img/s [min-max]", 23),
            ("naive img/s [min-max]", 21), ("speed-up [min-max]", 20), ("s/epoch", 7), ("train % peak", 12),
            *((f"infer img/s @{b}", 16) for b in config.eval_batch_sizes), ("latency ms", 10),
        )
        print(self._line([t for t, _ in self.columns]))
        print(self._line(["-" * w for _, w in self.columns]), flush=True)

    def _line(self, cells: list[str]) -> str:
        padded = [c.rjust(w) if i > 1 else c.ljust(w) for i, (c, (_, w)) in enumerate(zip(cells, self.columns))]
        return "| " + " | ".join(padded) + " |"

    def add(self, row: Row) -> None:
        ours = statistics.median(row.training.ours)
        train_gflops = TRAIN_FLOPS_PER_FORWARD * row.flops * ours / 1e9
        print(self._line([
            row.name, row.precision, f"{row.parameters:,}", f"{row.flops / 1e6:.2f}",
            measure.spread(row.training.ours, "{:,.0f}"), measure.spread(row.training.naive, "{:,.0f}"),
            measure.spread(row.training.ratios, "{:.2f}x"), f"{self.config.epoch_images / ours:.0f}",
            f"{100 * train_gflops / self.peaks[row.precision]:.0f}%",
            *(f"{row.inference[b]:,.0f}" for b in self.config.eval_batch_sizes), f"{row.latency_ms:.2f}",
        ]), flush=True)


def parse_args(argv: list[str] | None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--config", default=CONFIG, type=Path, help="benchmark configuration (default: %(default)s)")
    parser.add_argument("--raw", type=Path, help="folder with the four .gz files (default: data/raw, else the "
                        "download stage's sources: $FASHION_MNIST_DIR, Debian's dataset-fashion-mnist)")
    parser.add_argument("--models", help="comma-separated names (default: every model of the configuration)")
    parser.add_argument("--threads", type=int, default=0, help="CPU threads of both loops (default: one per core)")
    parser.add_argument("--quick", action="store_true", help="the configuration's quick_models and quick timing")
    parser.add_argument("--repeats", type=int, help="side-by-side repeats (default: from the configuration)")
    parser.add_argument("--seconds", type=float, help="window per loop and repeat (default: from the configuration)")
    parser.add_argument("--part", choices=("all", "step", "naive"), default="all",
                        help="step: base revision vs this tree; naive: this tree vs a naive loop (default: both)")
    return parser.parse_args(argv)


def raw_folder(requested: Path | None) -> Path:
    if requested is not None:
        return requested
    found = Path("data/raw") if Path("data/raw").is_dir() else find_source(None)
    if found is None:
        raise CnnLstmError("no Fashion-MNIST files: run `dvc repro download` or pass --raw FOLDER")
    return found


def print_header(device: torch.device, threads: int, config: BenchConfig, timing: Timing) -> dict[str, float]:
    """Its matmul peak per precision and the settings compared; returns the peaks."""
    peaks = {PRECISIONS[d]: machine.matmul_peak(device, d, timing.seconds) for d in machine.peak_dtypes(device)}
    print("matmul peak (torch.mm): " + ", ".join(f"{p} {g:,.1f} GFLOP/s" for p, g in peaks.items()))
    augment = config.train.augment
    print(
        f"both loops: {device.type}, {threads} threads (OMP_WAIT_POLICY={os.environ['OMP_WAIT_POLICY']}), "
        f"batch {config.train.batch_size}, AdamW, augmentation "
        f"crop_padding={augment.crop_padding} hflip={augment.hflip}, each line at its precision. "
        "ours: resident uint8 tensor, batch augmentation, training/step.py; naive: torchvision FashionMNIST + "
        "per-sample transforms + DataLoader.\n"
        f"{timing.repeats} side-by-side repeats of {timing.seconds:g} s per loop, the two loops' calls alternating; "
        "the speed-up is the median of the per-repeat ratios. Configuration: bench/config.yaml\n"
    )
    return peaks


def print_footer(rows: list[Row], config: BenchConfig) -> None:
    print(
        f"\ntrain % peak: {TRAIN_FLOPS_PER_FORWARD}x the forward FLOPs (a backward pass costs about two forwards) "
        "at our median rate, as a share of that precision's matmul peak. s/epoch: "
        f"{config.epoch_images:,} images (one fold of the study) at our median rate."
    )
    for row in rows:
        if row.name == config.proposed:
            print(
                f"{row.name} (proposed), {row.precision}: speed-up {row.training.speedup:.2f}x over the naive loop "
                f"(median of {len(row.training.ratios)} side-by-side ratios, "
                f"range {min(row.training.ratios):.2f}-{max(row.training.ratios):.2f}x)"
            )
    print("Absolute img/s follow the machine's load; compare the ratios, which are measured side by side.")


def step_comparison(config: BenchConfig, names: list[str], raw: Path, args: argparse.Namespace) -> None:
    """The base revision's step against this tree's (bench/compare.py), every precision the CPU
    has (--quick: the fastest one only), then the sums over the models."""
    mode = config.step.timing["quick" if args.quick else "full"]
    timing = Timing(args.repeats or mode.repeats, mode.seconds if args.seconds is None else args.seconds)
    train = dataclasses.asdict(config.train) | {"augment": config.step.augment}
    print(
        f"## Training step: base {config.step.base} vs this tree\n"
        f"converged recipe: batch {config.train.batch_size}, AdamW + OneCycle, augmentation {config.step.augment}; "
        f"each side a process on its own tree's code, {torch.get_num_threads()} threads; {timing.repeats} repeats "
        f"of {timing.seconds:g} s per side, calls alternating (A B A B); speed-up = median of per-repeat ratios"
    )
    limits = compare.print_limits(timing.seconds)
    precisions = [PRECISIONS[d] for d in machine.peak_dtypes(torch.device("cpu"))]
    precisions = precisions[-1:] if args.quick else precisions
    window = measure.Window(timing.seconds)
    rows = []
    with tempfile.TemporaryDirectory() as tmp:
        workers = [compare.Worker(src, raw, torch.get_num_threads(), train)
                   for src in (compare.REPO / "src", compare.unpack_base(config.step.base, Path(tmp)))]
        try:
            for precision in precisions:
                for name in names:
                    flops = flops_per_image(build(config, name))
                    rows.append(compare.compare_model(
                        *workers, name, config.specs[name], precision, window, timing.repeats,
                        config.epoch_images // config.train.batch_size, flops, config.train.batch_size,
                    ))
                    compare.print_rows(rows[-1:], limits, header=len(rows) == 1)
        finally:
            for worker in workers:
                worker.close()
    compare.print_sums(rows, config.epoch_images)
    print(
        "new GB/s: the bytes this tree's step ops read and write per image (inputs + outputs of each op, as "
        "if no cache held them) at its median rate; GFLOP/s: 3x the forward FLOPs per image.\n"
    )


@exit_on_error
def main(argv: list[str] | None = None) -> None:
    args = parse_args(argv)
    config = load_config(args.config)
    names = args.models.split(",") if args.models else list(config.quick_models if args.quick else config.models)
    unknown = [n for n in names if n not in config.models]
    if unknown:
        raise CnnLstmError(f"unknown model {unknown[0]!r}; known models: {', '.join(config.models)}")
    mode = config.timing["quick" if args.quick else "full"]
    timing = Timing(args.repeats or mode.repeats, mode.seconds if args.seconds is None else args.seconds)
    device = resolve_runtime(config.train.device, "fp32", args.threads).device  # sets both loops' threads
    raw = raw_folder(args.raw)
    for line in machine.describe():
        print(line)
    if args.part in ("all", "step"):
        step_comparison(config, names if args.models else list(config.models), raw, args)
    if args.part == "step":
        return
    split = load_split(raw, "train")
    images = torch.tensor(split.images, device=device)  # resident (N, 28, 28) uint8; a copy, as
    labels = torch.tensor(split.labels, device=device)  # the cached arrays are read-only

    peaks = print_header(device, torch.get_num_threads(), config, timing)
    table = Table(config, peaks)
    rows = []
    with tempfile.TemporaryDirectory() as tmp:
        reference = naive.dataset(naive.prepare_root(raw, Path(tmp)), config.train.augment)
        for name in names:
            flops = flops_per_image(build(config, name))
            for precision in peaks:
                runtime = resolve_runtime(config.train.device, precision, args.threads)
                rows.append(bench_model(config, name, images, labels, runtime, reference, timing, flops))
                table.add(rows[-1])
    print_footer(rows, config)


if __name__ == "__main__":
    main()
