"""Study-level progress of a `dvc repro`: which stages will run, what they should cost, and
"stage k of N" with an ETA for the whole run as stages finish (used by `make repro` and the gate).

DVC prints "Running stage 'NAME':" when a stage starts; a stage's duration is the time to the
next such line (or to the end), as in reports/timing/.
"""

from __future__ import annotations

import json
import re
import shutil
import statistics
import subprocess
import time
from collections import defaultdict
from collections.abc import Callable
from datetime import datetime, timedelta, timezone
from pathlib import Path

from cnnlstm.core.errors import CnnLstmError
from cnnlstm.core.hardware import cpu_name
from cnnlstm.core.params import load_params

RUNNING = re.compile(r"^Running stage '([^']+)'")
# A planned stage DVC does not run: restored from the run-cache, or found up to date.
SKIPPED = re.compile(r"^Stage '([^']+)' (?:is cached - skipping run|didn't change, skipping)")
EDGE = re.compile(r'"([^"]+)"\s*->\s*"([^"]+)"')
NODE = re.compile(r'^"([^"]+)";$', re.MULTILINE)

# Seconds per stage by kind, the one place for the study's time estimates. `train` is `train_startup`
# plus `train_epoch` per epoch of a full fold (51,300 images), scaled by train.epochs x cv.subset.
# cpu: measured, reports/timing/repro-2026-11-28T053408Z.tsv (2-core AMD EPYC Zen 1, AVX2, fp32,
#      2 epochs: train 90 s per stage on average).
# cpu_bf16: measured, reports/timing/repro-2026-12-01T021120Z.tsv (2-core AMD EPYC Zen 4, AVX512-BF16,
#      bf16 autocast, 2 epochs: train 37 s per stage on average, 104 stages in 62 min).
# gpu: one H200, the training loop at ~20k img/s (2.6 s per epoch) and ~15 s of start-up per stage
#      process; aggregate, plots and report run on the CPU either way.
ESTIMATES: dict[str, dict[str, float]] = {
    "cpu": {"download": 2, "split": 4, "train_startup": 18, "train_epoch": 36, "evaluate": 61,
            "aggregate": 20, "plots": 51, "report": 6, "budget": 8, "seeds": 8, "ship": 6},
    "cpu_bf16": {"download": 2, "split": 4, "train_startup": 7, "train_epoch": 15, "evaluate": 37,
                 "aggregate": 10, "plots": 26, "report": 2, "budget": 8, "seeds": 8, "ship": 6},
    "gpu": {"download": 2, "split": 4, "train_startup": 15, "train_epoch": 3, "evaluate": 20,
            "aggregate": 20, "plots": 51, "report": 6, "budget": 8, "seeds": 8, "ship": 6},
}
UNKNOWN_KIND_SECONDS = 10.0  # a stage kind the table does not know yet
RESTORE_SECONDS = 5.0  # a stage restored from the run-cache: a `dvc repro --pull` and a checkout
TABLE_CPU = {"cpu": "a 2-core CPU without native bf16", "cpu_bf16": "a 2-core CPU with native bf16", "gpu": "one GPU"}
# Weight of the prior, in stages, against the stages finished so far: the ETA moves smoothly from
# the prior to this run's own mean instead of jumping with the first stage of each kind.
PRIOR_WEIGHT = 2.0
TIMING_LOG = re.compile(r"^repro-.*\.tsv$")


def machine() -> str:
    """This machine's CPU as timing logs name it (core.runtime.cpu_name)."""
    return cpu_name()


def table_kind(device: str, this_machine: str) -> str:
    """Which ESTIMATES table fits this machine when no timing log of it exists."""
    if device == "cuda" or (device == "auto" and shutil.which("nvidia-smi")):
        return "gpu"
    return "cpu_bf16" if this_machine.endswith(", native bf16") else "cpu"


def measured(timing_dir: Path, this_machine: str, epochs: float) -> dict[str, list[float]]:
    """Seconds per stage kind from earlier timing logs of this same machine kind (reports/timing/),
    train stages scaled to `epochs`; logs without a `# train epochs:` line cannot be scaled and are skipped."""
    found: dict[str, list[float]] = defaultdict(list)
    for log in sorted(timing_dir.glob("repro-*.tsv")) if timing_dir.is_dir() else []:
        header = dict(line[2:].split(": ", 1) for line in log.read_text().splitlines()
                      if line.startswith("# ") and ": " in line)
        if header.get("machine") != this_machine or "train epochs" not in header:
            continue
        logged_epochs = float(header["train epochs"])
        for row in log.read_text().splitlines():
            parts = row.split("\t")
            if len(parts) != 3 or parts[0] in ("stage", "total") or row.startswith("#"):
                continue
            seconds = float(parts[2])
            found[kind(parts[0])].append(seconds * epochs / logged_epochs if kind(parts[0]) == "train" else seconds)
    return dict(found)


class Prior:
    """What a stage should cost on this machine before this run has timed any: the median of this
    machine kind's timing logs where it has some, else the ESTIMATES table for its kind of CPU."""

    def __init__(self, history: dict[str, list[float]], table: str, epochs: float) -> None:
        self.history, self.table, self.epochs = history, table, epochs

    def seconds(self, stage: str) -> float:
        seen = self.history.get(kind(stage))
        return statistics.median(seen) if seen else prior_seconds(stage, ESTIMATES[self.table], self.epochs)

    def source(self) -> str:
        timed = sum(map(len, self.history.values()))
        if timed:
            return f"{timed} stages timed earlier on this machine kind (reports/timing/)"
        return f"no timing log of this machine yet: cnnlstm/study_progress.py's table for {TABLE_CPU[self.table]}"


def kind(stage: str) -> str:
    """`train@cnn16-3` -> `train`; the proposed model's stages count with the others of their kind."""
    return stage.split("@")[0].removesuffix("_hybrid")


def stages_to_run(status: dict[str, object], dag_dot: str, force: bool = False) -> list[str]:
    """The stages a plain `dvc repro` will run: those `dvc status --json` reports changed, and
    everything downstream of them (`dvc dag --dot`), in the DAG's order; with `force`, all."""
    order = NODE.findall(dag_dot)
    children: dict[str, set[str]] = defaultdict(set)
    for parent, child in EDGE.findall(dag_dot):
        children[parent].add(child)
    chosen = set(order) if force else set(status)
    frontier = list(chosen)
    while frontier:
        for child in children[frontier.pop()] - chosen:
            chosen.add(child)
            frontier.append(child)
    return [stage for stage in order if stage in chosen] + sorted(chosen - set(order))


def needed_by(dag_dot: str, targets: list[str]) -> set[str]:
    """`targets` and every stage they depend on, transitively (`dvc dag --dot`)."""
    parents: dict[str, set[str]] = defaultdict(set)
    for parent, child in EDGE.findall(dag_dot):
        parents[child].add(parent)
    needed, frontier = set(targets), list(targets)
    while frontier:
        for parent in parents[frontier.pop()] - needed:
            needed.add(parent)
            frontier.append(parent)
    return needed


def plan(dvc: list[str], force: bool = False, cwd: Path | None = None, env: dict[str, str] | None = None) -> list[str]:
    """The stages `dvc repro` will run in `cwd`. `dvc` is the command that runs DVC."""
    return stages_to_run(*read_pipeline(dvc, cwd, env), force)


def read_pipeline(dvc: list[str], cwd: Path | None = None, env: dict[str, str] | None = None) -> tuple[dict, str]:
    """(`dvc status --json`, `dvc dag --dot`), asked side by side (each costs seconds of DVC start-up)."""
    def start(*args: str) -> subprocess.Popen:
        return subprocess.Popen([*dvc, *args], cwd=cwd, env=env, stdout=subprocess.PIPE, text=True)

    with start("status", "--json") as status, start("dag", "--dot") as dag:
        status_out, dag_out = status.communicate()[0], dag.communicate()[0]
    for process in (status, dag):
        if process.returncode:
            raise CnnLstmError(f"{' '.join(process.args)} failed (exit {process.returncode}, output above)")
    return json.loads(status_out or "{}"), dag_out


def run_cached(stages: list[str]) -> set[str]:
    """Those of `stages` whose current deps, params and command have an entry in the local run-cache
    (after `dvc pull --run-cache`: e.g. pushed by another machine), which `dvc repro --pull` restores
    instead of running. Asks DVC in-process (its StageCache, dvc pinned in requirements.txt)."""
    from dvc.repo import Repo  # seconds to import; only `make repro` needs it
    from dvc.stage.cache import _can_hash

    wanted = set(stages)
    with Repo() as repo:
        found = set()
        for stage in repo.index.stages:
            if stage.addressing in wanted:
                stage.save_deps()  # hashes the deps as they are now (DVC's state db makes it quick)
                if _can_hash(stage) and repo.stage_cache._load(stage):
                    found.add(stage.addressing)
    return found


def describe(scope: list[str], planned: list[str], cached: set[str], prior: "Prior", where: str) -> str:
    """Before a run (after `dvc pull`): how many model x fold runs of the stages in `scope` are done,
    how many the run-cache restores, how many are left to train, and the expected time here."""
    trains = [stage for stage in scope if kind(stage) == "train"]
    left = [stage for stage in planned if kind(stage) == "train" and stage not in cached]
    seconds = sum(RESTORE_SECONDS if stage in cached else prior.seconds(stage) for stage in planned)
    return (
        f"{len(trains) - len(left)} of {len(trains)} model x fold runs done (up to date, restored from the DVC "
        f"remote, or {len([s for s in planned if s in cached and kind(s) == 'train'])} of them to restore "
        f"from its run-cache), {len(left)} to train; {len(planned)} stages to run, expected about "
        f"{duration(seconds)} on {where} (from {prior.source()})"
    )


def prior_seconds(stage: str, table: dict[str, float], epochs: float) -> float:
    """The table's estimate for one stage; `epochs` counts full folds' epochs (epochs x subset)."""
    if kind(stage) == "train":
        return table["train_startup"] + table["train_epoch"] * epochs
    return table.get(kind(stage), UNKNOWN_KIND_SECONDS)


def train_epochs(params_file: str | Path) -> float:
    """Epochs of a full fold that one train stage runs: train.epochs x cv.subset."""
    params = load_params(params_file)
    return params.train.epochs * params.cv.subset


def duration(seconds: float) -> str:
    """40s, 1m40s, 36m, 2h05m: no more precision than an estimate has."""
    if seconds < 600:
        minutes, secs = divmod(round(seconds), 60)
        return f"{minutes}m{secs:02d}s" if minutes else f"{secs}s"
    minutes = round(seconds / 60)
    return f"{minutes // 60}h{minutes % 60:02d}m" if minutes >= 60 else f"{minutes}m"


def announce(stages: list[str], epochs: float) -> str:
    """One line before the run starts: how many stages, and the expected time on a CPU and a GPU."""
    if not stages:
        return "nothing to run: the pipeline is up to date (dvc status)"
    cpu, cpu_bf16, gpu = (sum(prior_seconds(s, ESTIMATES[d], epochs) for s in stages) for d in ESTIMATES)
    return (
        f"{len(stages)} stages to run; expected about {duration(cpu)} on a 2-core CPU without native bf16, "
        f"{duration(cpu_bf16)} on one with it, {duration(gpu)} on one GPU (estimates: cnnlstm/study_progress.py)"
    )


class StudyProgress:
    """Feed it DVC's output lines; when a stage starts it returns "stage k of N" with an ETA from
    the finished stages' mean duration by kind. Kinds not seen yet take the CPU table's estimate,
    scaled by how fast this machine ran the finished stages against that table."""

    def __init__(self, planned: list[str], epochs: float, clock: Callable[[], float] = time.monotonic,
                 prior: Prior | None = None) -> None:
        self.planned = planned
        self.epochs = epochs
        self.prior = prior  # given: each kind's mean is smoothed towards it (PRIOR_WEIGHT)
        self.clock = clock
        self.started_at = clock()
        self.current: tuple[str, float] | None = None
        self.finished: dict[str, float] = {}  # stage -> seconds

    def _estimate(self, stage: str) -> float:
        same_kind = [s for name, s in self.finished.items() if kind(name) == kind(stage)]
        if self.prior is not None:
            return (sum(same_kind) + PRIOR_WEIGHT * self.prior.seconds(stage)) / (len(same_kind) + PRIOR_WEIGHT)
        if same_kind:
            return statistics.mean(same_kind)
        table = ESTIMATES["cpu"]
        prior_done = sum(prior_seconds(name, table, self.epochs) for name in self.finished)
        speed = sum(self.finished.values()) / prior_done if prior_done else 1.0
        return speed * prior_seconds(stage, table, self.epochs)

    def line(self, output: str) -> str | None:
        """The progress line for one line of DVC's output, or None if no stage started."""
        skipped = SKIPPED.match(output)
        if skipped:  # it takes seconds, not its kind's estimate: out of the plan and the ETA
            self.planned = [stage for stage in self.planned if stage != skipped.group(1)]
        match = RUNNING.match(output)
        if not match:
            return None
        now = self.clock()
        if self.current:
            self.finished[self.current[0]] = now - self.current[1]
        stage = match.group(1)
        self.current = (stage, now)
        k = len(self.finished) + 1
        total = max(len(self.planned), k)
        remaining = [s for s in self.planned if s not in self.finished]
        if stage not in remaining:
            remaining.append(stage)
        eta = sum(map(self._estimate, remaining))
        end = datetime.now(timezone.utc) + timedelta(seconds=eta)
        return (
            f"stage {k} of {total}: {stage}; {duration(now - self.started_at)} elapsed, "
            f"about {duration(eta)} left (ends ~{end:%H:%M} UTC)"
        )
