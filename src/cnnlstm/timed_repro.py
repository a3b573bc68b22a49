"""`make repro`: run or continue the study, from git alone, with progress and a per-stage log:
python -m cnnlstm.timed_repro [STAGE ... | dvc repro options]

First it restores what the default DVC remote (dvcstore/, in git) holds of what dvc.lock records
(`dvc pull --run-cache`), then prints how many model x fold runs are done, how many are left and the
expected time on this machine. Then it reproduces the rest with `dvc repro --pull`: a stage seen
before with the same deps and params (DVC's run-cache, e.g. pushed by another machine) is restored
instead of rerun; a stage that never ran is run. Each train stage runs as its own `dvc repro` and is
pushed (`dvc push --run-cache`) as soon as it finishes, so a machine that stops after hours loses at
most the run in progress; the rest of the pipeline follows in one `dvc repro`. Given stage names,
it does this for those stages and what they need; given an option (`--force`), it makes a single
`dvc repro --pull OPTIONS`.

It streams DVC's output unchanged and writes reports/timing/repro-<UTC time>.tsv: one row per stage
DVC ran (start, seconds from its "Running stage" line to the next stage's or the end), plus a
`total` row; its header names the machine and the train epochs, so later runs on the same machine
kind take their ETA from it (cnnlstm.study_progress).
"""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import time
from datetime import datetime, timezone
from pathlib import Path
from typing import TextIO

import yaml

from cnnlstm.core.errors import CnnLstmError
from cnnlstm.core.params import check_devices, load_params
from cnnlstm.study_progress import (
    NODE, RUNNING, Prior, StudyProgress, describe, kind, machine, measured, needed_by, read_pipeline, run_cached,
    stages_to_run, table_kind, train_epochs,
)

TIMING_DIR = Path("reports/timing")
PARAMS = Path("params.yaml")
DVC_YAML = Path("dvc.yaml")
FORCE = {"-f", "--force"}
IN_REPO_REMOTE = "store"  # .dvc/config: url ../dvcstore, committed to git
DATA_STAGE = "split"  # with download before it: what every train stage reads


STOPPED = "stopped; `make repro` continues where it stopped"


def _now() -> str:
    return datetime.now(timezone.utc).strftime("%Y-%m-%dT%H:%M:%SZ")


class _Stop:
    """SIGINT/SIGTERM while DVC runs: passed on once, as SIGINT, to DVC's process group (DVC and the
    stage it runs), then DVC is waited for, so that it finishes its own clean-up (its repo lock)."""

    def __init__(self) -> None:
        self.process: subprocess.Popen | None = None
        self.signum: int | None = None

    def attach(self, process: subprocess.Popen | None) -> None:
        self.process = process
        if process is not None and self.signum is not None:  # arrived while DVC was starting
            os.killpg(process.pid, signal.SIGINT)

    def __call__(self, signum: int, _frame: object) -> None:
        if self.signum is None:
            self.signum = signum
            if self.process is not None:
                os.killpg(self.process.pid, signal.SIGINT)


class _Timer:
    """Echoes DVC's output with study progress and logs each stage's seconds to `out`."""

    def __init__(self, progress: StudyProgress, out: TextIO) -> None:
        self.progress, self.out = progress, out
        self.current: tuple[str, str, float] | None = None  # (stage, started UTC, perf_counter at start)
        self.stages = 0

    def line(self, line: str) -> None:
        sys.stdout.write(line)
        note = self.progress.line(line)
        if note:
            sys.stdout.write(f"[study] {note}\n")
        match = RUNNING.match(line)
        if match:
            self.close()
            self.current = (match.group(1), _now(), time.perf_counter())
            self.stages += 1

    def close(self) -> None:
        """The running stage ends (the next one started, or DVC exited)."""
        if self.current:
            self.out.write(f"{self.current[0]}\t{self.current[1]}\t{time.perf_counter() - self.current[2]:.1f}\n")
            self.out.flush()  # a killed run still leaves the stages it finished
        self.current = None


def _dvc(args: list[str], timer: _Timer, stop: _Stop) -> int:
    # DVC in a session of its own: a terminal's Ctrl-C reaches this process only, which passes it on once.
    with subprocess.Popen(["dvc", *args], stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True,
                          bufsize=1, start_new_session=True) as process:
        stop.attach(process)
        assert process.stdout is not None
        for line in process.stdout:
            if stop.signum is None:  # after an interrupt, DVC's and the stage's reports of it: one line says it
                timer.line(line)
        code = process.wait()
        stop.attach(None)
    timer.close()
    return code


def _has_data_stage() -> bool:
    """Whether dvc.yaml declares DATA_STAGE; unreadable, DVC itself will say what is wrong with it."""
    try:
        return DATA_STAGE in (yaml.safe_load(DVC_YAML.read_text()) or {}).get("stages", {})
    except (OSError, yaml.YAMLError, AttributeError):
        return True


def default_remote() -> str:
    """The default DVC remote's name ("store": the repository's own dvcstore/; or one set with
    --local), "" if there is none."""
    result = subprocess.run(["dvc", "config", "core.remote"], capture_output=True, text=True)
    return result.stdout.strip() if result.returncode == 0 else ""


def pull() -> None:
    """Restore, in one DVC call, every stage output dvc.lock records that the remote holds, with the
    run-cache entries. Objects the remote lacks are normal (runs not pushed, data/raw): those stages
    are run, so DVC's complaint about them is not an error here."""
    result = subprocess.run(["dvc", "pull", "--run-cache", "-q"], capture_output=True, text=True)
    if result.returncode:
        print("[study] dvc pull: some outputs are not in the DVC remote; their stages will run", flush=True)


def push(timer: _Timer) -> int:
    """Everything the workspace holds, with its run-cache entries, into the default remote."""
    result = subprocess.run(["dvc", "push", "--run-cache", "-q"], capture_output=True, text=True)
    if result.returncode:
        sys.stdout.write(result.stdout + result.stderr)
        timer.out.write(f"# dvc push --run-cache failed (exit {result.returncode})\n")
    return result.returncode


def run(args: list[str], timing_dir: Path = TIMING_DIR, rest: bool = True) -> int:
    """Reproduce the pipeline, or with stage names in `args` those stages and what they need, pushing
    as it goes; return the first non-zero exit code of DVC, else 0 (130/143 after Ctrl-C or SIGTERM:
    one line, no traceback). Without `rest`, only the train stages among them (a shard). Any option in
    `args` makes it one `dvc repro --pull ARGS`."""
    try:
        train_epochs(PARAMS)  # validates all of params.yaml: a bad value fails before DVC starts
    except CnnLstmError as exc:
        print(f"timed_repro: {exc}", file=sys.stderr)
        return 1
    stop = _Stop()
    previous = {signum: signal.signal(signum, stop) for signum in (signal.SIGINT, signal.SIGTERM)}
    try:
        code = _run(args, timing_dir, rest, stop)
    finally:
        for signum, handler in previous.items():
            signal.signal(signum, handler)
    if stop.signum is not None:
        print(STOPPED, file=sys.stderr)
        return 128 + stop.signum
    return code


def _run(args: list[str], timing_dir: Path, rest: bool, stop: _Stop) -> int:
    options = [arg for arg in args if arg.startswith("-")]
    targets = None if options or not args else args
    remote = default_remote()
    if remote:
        pull()
    if stop.signum is not None:
        return 1
    # data/raw is not in the store (30 MB any machine downloads): until it is back, `dvc status`
    # counts every stage after it as changed. It trains nothing, so it comes before the plan.
    if _has_data_stage() and (
            subprocess.run(["dvc", "repro", "--pull", "-q", DATA_STAGE]).returncode or stop.signum is not None):
        print(f"timed_repro: dvc repro {DATA_STAGE} failed (output above)", file=sys.stderr)
        return 1
    try:
        status, dag = read_pipeline(["dvc"])
        params = load_params(PARAMS)
    except CnnLstmError as exc:
        print(f"timed_repro: {exc}", file=sys.stderr)
        return 1
    planned = stages_to_run(status, dag, force=bool(FORCE & set(args)))
    scope = NODE.findall(dag)
    if targets is not None:
        needed = needed_by(dag, targets)
        planned, scope = [s for s in planned if s in needed], [s for s in scope if s in needed]
    epochs = train_epochs(PARAMS)
    cached = run_cached([s for s in planned if kind(s) == "train"]) if planned and not options else set()
    to_train = [s for s in planned if kind(s) == "train" and s not in cached]
    if to_train:  # cuda/bf16 this machine lacks; restoring runs and re-analysing needs neither
        try:
            check_devices(params)
        except CnnLstmError as exc:
            print(f"timed_repro: {exc}; {len(to_train)} model x fold runs are left to train, which needs a "
                  "machine that has it (the runs already done are restored on any machine)", file=sys.stderr)
            return 1
    this_machine = machine()
    prior = Prior(measured(timing_dir, this_machine, epochs), table_kind(params.train.device, this_machine), epochs)
    print(f"[study] {describe(scope, planned, cached, prior, this_machine)}", flush=True)
    if not planned:
        return 0
    if options:
        batches = [args]  # the user's own dvc repro options: one run, as asked
    else:
        batches = [[s] for s in planned if kind(s) == "train"] + ([targets or []] if rest else [])
    timing_dir.mkdir(parents=True, exist_ok=True)
    log = timing_dir / f"repro-{_now().replace(':', '')}.tsv"
    started = time.perf_counter()
    code = 0
    with log.open("w") as out:
        out.write(f"# dvc repro --pull {' '.join(args)}\n# machine: {this_machine}\n# train epochs: {epochs:g}\n"
                  "stage\tstarted_utc\tseconds\n")
        timer = _Timer(StudyProgress(planned, epochs, prior=prior), out)
        for batch in batches:
            ran = timer.stages
            code = _dvc(["repro", "--pull", *batch], timer, stop)
            if code == 0 and remote and timer.stages > ran:  # a restored stage is in the store already
                code = push(timer)
            if code or stop.signum is not None:
                break
        end = time.perf_counter()
        out.write(f"total\t\t{end - started:.1f}\n# dvc exit code {code}\n")
    print(f"{log}: {timer.stages} stages ran in {end - started:.0f}s (dvc exit code {code})")
    if remote:
        store = " dvcstore" if remote == IN_REPO_REMOTE else ""
        print(f"[study] pushed to the DVC remote {remote!r}; to continue on another machine, commit:\n"
              f"[study]   git add dvc.lock{store} && git commit -m 'study: runs so far'"
              + ("" if code or not rest else
                 "\n[study] and the study's results: git add logs metrics plots reports pretrained"))
    return code


if __name__ == "__main__":
    sys.exit(run(sys.argv[1:]))
