"""A live progress bar on a terminal; one plain line per epoch in logs and CI."""

from __future__ import annotations

import os
import sys
import time

from tqdm import tqdm


def _duration(seconds: float) -> str:
    minutes, secs = divmod(int(seconds), 60)
    return f"{minutes}m{secs:02d}s" if minutes else f"{secs}s"


class Progress:
    def __init__(self, label: str, epochs: int) -> None:
        self.label = label
        self.epochs = epochs
        self.interactive = sys.stderr.isatty() and not os.environ.get("CI")
        self.bar: tqdm | None = None
        self.started = time.perf_counter()
        self.epochs_done = 0

    def start_epoch(self, epoch: int, batches: int) -> None:
        if self.interactive:
            self.bar = tqdm(total=batches, desc=f"{self.label} epoch {epoch + 1}/{self.epochs}", leave=False, unit="batch")

    def step(self, loss: float) -> None:
        if self.bar is not None:
            self.bar.update()
            self.bar.set_postfix(loss=f"{loss:.3f}", refresh=False)

    def end_epoch(self, epoch: int, record: dict[str, float]) -> None:
        if self.bar is not None:
            self.bar.close()
        self.epochs_done += 1
        per_epoch = (time.perf_counter() - self.started) / self.epochs_done
        eta = per_epoch * (self.epochs - epoch - 1)
        print(
            f"[{self.label}] epoch {epoch + 1}/{self.epochs} train_loss {record['train_loss']:.4f} "
            f"val_loss {record['val_loss']:.4f} val_acc {record['val_acc']:.4f} "
            f"{record['images_per_s']:,.0f} img/s ETA {_duration(eta)}",
            file=sys.stderr,
            flush=True,
        )
