"""`dvc repro` with study-level progress and a per-stage wall-clock log:
python -m cnnlstm.timed_repro [dvc repro options]

Before starting it prints how many stages will run and the expected time on a CPU and a GPU;
while DVC runs it adds "stage k of N" with an ETA for the whole run as each stage starts
(cnnlstm.study_progress). It streams DVC's output unchanged and writes
reports/timing/repro-<UTC time>.tsv: one row per stage DVC ran (start, seconds from its
"Running stage" line to the next stage's or the end), plus a `total` row. The seconds include
process start-up and DVC's own bookkeeping, which a stage's own timers cannot see. A run that
resumes an interrupted one writes its own file; the study's time is the sum of the files (stages
DVC skips cost about nothing).
"""

from __future__ import annotations

import os
import platform
import re
import signal
import subprocess
import sys
import time
from datetime import datetime, timezone
from pathlib import Path

from cnnlstm.core.errors import CnnLstmError
from cnnlstm.core.params import check_devices, load_params
from cnnlstm.study_progress import RUNNING, StudyProgress, announce, kind, plan, train_epochs

TIMING_DIR = Path("reports/timing")
PARAMS = Path("params.yaml")
FORCE = {"-f", "--force"}


def _now() -> str:
    return datetime.now(timezone.utc).strftime("%Y-%m-%dT%H:%M:%SZ")


STOPPED = "stopped; `make repro` continues where it stopped"


class _Stop:
    """SIGINT/SIGTERM while DVC runs: passed on once, as SIGINT, to DVC's process group (DVC and the
    stage it runs), then DVC is waited for, so that it finishes its own clean-up (its repo lock)."""

    def __init__(self) -> None:
        self.process: subprocess.Popen | None = None
        self.signum: int | None = None

    def attach(self, process: subprocess.Popen) -> None:
        self.process = process
        if self.signum is not None:  # arrived while DVC was starting
            os.killpg(process.pid, signal.SIGINT)

    def __call__(self, signum: int, _frame: object) -> None:
        if self.signum is None:
            self.signum = signum
            if self.process is not None:
                os.killpg(self.process.pid, signal.SIGINT)


def run(args: list[str], timing_dir: Path = TIMING_DIR) -> int:
    """Run `dvc repro *args`, echo its output with study progress, log each stage's seconds;
    return DVC's exit code (130/143 after Ctrl-C or SIGTERM: one line, no traceback)."""
    try:
        epochs = train_epochs(PARAMS)  # validates all of params.yaml: a bad value fails before DVC starts
        planned = plan(["dvc"], force=bool(FORCE & set(args)))
        if any(kind(stage) in ("train", "evaluate") for stage in planned):  # cuda/bf16 this machine lacks
            check_devices(load_params(PARAMS))
    except CnnLstmError as exc:
        print(f"timed_repro: {exc}", file=sys.stderr)
        return 1
    except KeyboardInterrupt:  # Ctrl-C while `dvc status` ran: it got the signal too and stops by itself
        print(STOPPED, file=sys.stderr)
        return 130
    print(f"[study] {announce(planned, epochs)}", flush=True)
    progress = StudyProgress(planned, epochs)
    timing_dir.mkdir(parents=True, exist_ok=True)
    log = timing_dir / f"repro-{_now().replace(':', '')}.tsv"
    stages = 0
    current: tuple[str, str, float] | None = None  # (stage, started UTC, perf_counter at start)
    started = time.perf_counter()
    stop = _Stop()
    previous = {signum: signal.signal(signum, stop) for signum in (signal.SIGINT, signal.SIGTERM)}
    try:
        # DVC in a session of its own: a terminal's Ctrl-C reaches this process only, which passes it on once.
        with subprocess.Popen(
            ["dvc", "repro", *args], stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True, bufsize=1,
            start_new_session=True,
        ) as process, log.open("w") as out:
            stop.attach(process)
            out.write(f"# dvc repro {' '.join(args)}\n# machine: {_machine()}\nstage\tstarted_utc\tseconds\n")
            assert process.stdout is not None
            for line in process.stdout:
                if stop.signum is not None:  # DVC's and the stage's reports of the interrupt: the one line below says it
                    continue
                sys.stdout.write(line)
                note = progress.line(line)
                if note:
                    sys.stdout.write(f"[study] {note}\n")
                match = RUNNING.match(line)
                if match:
                    now = time.perf_counter()
                    if current:
                        out.write(f"{current[0]}\t{current[1]}\t{now - current[2]:.1f}\n")
                        out.flush()  # a killed run still leaves the stages it finished
                    current = (match.group(1), _now(), now)
                    stages += 1
            code = process.wait()
            end = time.perf_counter()
            if current:
                out.write(f"{current[0]}\t{current[1]}\t{end - current[2]:.1f}\n")
            out.write(f"total\t\t{end - started:.1f}\n# dvc exit code {code}\n")
    finally:
        for signum, handler in previous.items():
            signal.signal(signum, handler)
    if stop.signum is not None:
        print(STOPPED, file=sys.stderr)
        return 128 + stop.signum
    print(f"{log}: {stages} stages ran in {end - started:.0f}s (dvc exit code {code})")
    return code


def _machine() -> str:
    cpu = platform.machine()
    cpuinfo = Path("/proc/cpuinfo")
    if cpuinfo.exists():
        names = re.findall(r"^model name\s*:\s*(.+)$", cpuinfo.read_text(), re.MULTILINE)
        cpu = names[0] if names else cpu
    return f"{cpu}, {os.cpu_count()} CPUs"


if __name__ == "__main__":
    sys.exit(run(sys.argv[1:]))
