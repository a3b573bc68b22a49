"""What the study's bf16 would cost on this CPU: our training step in fp32 and under bf16 autocast,
side by side. On a CPU without native bf16 (AVX2 only) the study's `train.precision: bf16` is
refused (docs/workflow.md); this measures why, and how long a run would take if it were not.

    python bench/emulated_bf16.py                          # every model of bench/config.yaml, 1 thread
    python bench/emulated_bf16.py --models cnn32,cnn32_lstm --threads 2

One thread by default: a study worker trains on one core (scripts/study_queue.sh). Both sides run
training/step.py's step on the converged recipe (bench/config.yaml `step.augment`), the same thread
count and batch; bf16 is forced here, past the refusal, because measuring it is the point. Prints
one line per model: images/s at each precision (median [min-max] of the repeats), how many times
slower bf16 is (median of the per-repeat ratios), and the seconds of one bf16 epoch. Not a test:
it asserts nothing.
"""

from __future__ import annotations

import argparse
import dataclasses
import os
import statistics
from pathlib import Path

os.environ.setdefault("OMP_WAIT_POLICY", "PASSIVE")  # as in benchmark.py: a shared machine's cores

import torch  # noqa: E402

import machine  # noqa: E402  (bench/ is the script's folder, so its modules import by name)
import measure  # noqa: E402
from benchmark import CONFIG, build, load_config  # noqa: E402

from cnnlstm.core.errors import CnnLstmError, exit_on_error  # noqa: E402
from cnnlstm.core.params import TrainParams, from_dict  # noqa: E402
from cnnlstm.core.runtime import Runtime, resolve_runtime  # noqa: E402


def parse_args(argv: list[str] | None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--config", default=CONFIG, type=Path, help="benchmark configuration (default: %(default)s)")
    parser.add_argument("--models", help="comma-separated names (default: every model of the configuration)")
    parser.add_argument("--threads", type=int, default=1, help="CPU threads of both sides (default: %(default)s)")
    parser.add_argument("--repeats", type=int, help="side-by-side repeats (default: the quick step timing)")
    parser.add_argument("--seconds", type=float, help="window per side and repeat (default: as --repeats)")
    return parser.parse_args(argv)


@exit_on_error
def main(argv: list[str] | None = None) -> None:
    args = parse_args(argv)
    config = load_config(args.config)
    names = args.models.split(",") if args.models else list(config.models)
    unknown = [n for n in names if n not in config.models]
    if unknown:
        raise CnnLstmError(f"unknown model {unknown[0]!r}; known models: {', '.join(config.models)}")
    timing = config.step.timing["quick"]
    window = measure.Window(timing.seconds if args.seconds is None else args.seconds)
    repeats = args.repeats or timing.repeats
    fp32 = resolve_runtime("cpu", "fp32", args.threads)  # sets the threads of both sides
    bf16 = Runtime(fp32.device, torch.bfloat16)
    recipe = from_dict(TrainParams, dataclasses.asdict(config.train) | {"augment": config.step.augment}, "recipe")
    generator = torch.Generator().manual_seed(0)  # pixel values do not change a step's time
    images = torch.randint(0, 256, (config.epoch_images, 28, 28), dtype=torch.uint8, generator=generator)
    labels = torch.randint(0, 10, (config.epoch_images,), generator=generator)
    batches = config.epoch_images // recipe.batch_size
    for line in machine.describe():
        print(line)
    print(f"training step, converged recipe (batch {recipe.batch_size}, augmentation {config.step.augment}), "
          f"{torch.get_num_threads()} threads; {repeats} side-by-side repeats of {window.seconds:g} s per side")
    for name in names:
        steps = [
            measure.sized(measure.our_training(build(config, name), images, labels, recipe, runtime), batches,
                          window, fp32.device)
            for runtime in (bf16, fp32)
        ]
        rates = measure.side_by_side(*steps, window, repeats, fp32.device)
        slower = [1 / ratio for ratio in rates.ratios]  # ratios: bf16 images/s over fp32's
        print(f"{name}: fp32 {measure.spread(rates.naive, '{:,.0f}')} img/s, "
              f"bf16 {measure.spread(rates.ours, '{:,.0f}')} img/s; bf16 {measure.spread(slower, '{:.1f}')}x slower, "
              f"{config.epoch_images / statistics.median(rates.ours):,.0f} s per bf16 epoch", flush=True)


if __name__ == "__main__":
    main()
