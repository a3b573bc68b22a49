"""Run-cache entries whose outputs the DVC remote folder does not hold: runs that look kept but are lost.

`dvc push --run-cache` (DVC 3.67) copies only the entries (runs/<key>); the outputs they name are
pushed only when the workspace's dvc.lock names them. A run made with `dvc exp run -S ...` whose
dvc.lock is restored before the push therefore leaves an entry without its model and log: a later
`dvc repro --pull` finds the entry, cannot restore it, and trains again. Found on 2026-12-07 for all
52 runs of the convergence check and seed 1; `scripts/study_queue.sh` now pushes a run's outputs
while dvc.lock still names them and runs this check after every push.

    python -m cnnlstm.store_outputs [STORE]            # exit 1 naming entries without their outputs
    python -m cnnlstm.store_outputs --prune [STORE]    # delete such entries (a restore would retrain anyway)
    python -m cnnlstm.store_outputs --done [STORE] < RUNS   # the runs of RUNS that STORE holds whole

RUNS are the study queue's lines: `TARGET` (a dvc.lock stage) or `TARGET KEY=VALUE...` (the stage run
with DVC's parameter overrides, as `dvc exp run -S KEY=VALUE... TARGET` makes it).
"""

from __future__ import annotations

import copy
import json
import sys
from pathlib import Path

import yaml

from cnnlstm.core.errors import CnnLstmError, exit_on_error
from cnnlstm.study_drift import DEFAULT_STORE


def not_pushed(dvc_yaml: Path = Path("dvc.yaml")) -> set[str]:
    """Output paths dvc.yaml marks `push: false` (data/raw): never in the store, on purpose."""
    paths: set[str] = set()
    for stage in yaml.safe_load(dvc_yaml.read_text())["stages"].values():
        for out in stage.get("outs", []):
            if isinstance(out, dict):
                paths.update(path for path, options in out.items() if options.get("push") is False)
    return paths


def object_path(store: Path, md5: str) -> Path:
    return store / "files" / "md5" / md5[:2] / md5[2:]


def has_output(store: Path, out: dict) -> bool:
    """Whether `store` holds an output as dvc.lock or a run-cache entry records it (md5 and, for a
    folder, its .dir listing and every file in it)."""
    path = object_path(store, out["md5"])
    if not path.is_file():
        return False
    if not out["md5"].endswith(".dir"):
        return True
    return all(object_path(store, item["md5"]).is_file() for item in json.loads(path.read_text()))


def entries_without_outputs(store: Path, skip: set[str]) -> dict[Path, list[str]]:
    """Run-cache entries in `store` naming outputs it does not hold (paths in `skip` are not checked)."""
    missing: dict[Path, list[str]] = {}
    for entry in sorted((store / "runs").glob("*/*/*")):
        outs = yaml.safe_load(entry.read_text()).get("outs", [])
        lost = [out["path"] for out in outs if out["path"] not in skip and not has_output(store, out)]
        if lost:
            missing[entry] = lost
    return missing


def prune(store: Path, entries: list[Path]) -> None:
    """Delete `entries` and the key folders they leave empty."""
    for entry in entries:
        entry.unlink()
        for folder in (entry.parent, entry.parent.parent):
            if not any(folder.iterdir()):
                folder.rmdir()


def overridden(params: dict, override: str) -> dict:
    """A stage's recorded params ({file: {tracked key: value}}) after DVC's `-S KEY=VALUE`; unchanged
    when the stage does not track KEY."""
    key, _, text = override.partition("=")
    value = yaml.safe_load(text)
    params = copy.deepcopy(params)
    for tracked in params.values():  # one mapping per params file
        for name, section in tracked.items():
            if key == name:
                tracked[name] = value
            elif key.startswith(name + "."):
                *parents, leaf = key[len(name) + 1:].split(".")
                for parent in parents:
                    section = section[parent]
                section[leaf] = value
    return params


def dep_hashes(record: dict) -> dict[str, str]:
    return {dep["path"]: dep["md5"] for dep in record.get("deps", [])}


def done_runs(store: Path, runs: list[str], lock: Path = Path("dvc.lock")) -> list[str]:
    """The runs (`TARGET` or `TARGET KEY=VALUE...`) whose outputs `store` holds, so that training them
    again would only restore them. A plain target counts as done from its dvc.lock record; an
    override run from the run-cache entry with dvc.lock's command and code (deps) and the overridden
    params, so the queue skips it without a `dvc exp run` to restore it."""
    stages = yaml.safe_load(lock.read_text())["stages"] if lock.is_file() else {}
    entries = [yaml.safe_load(entry.read_text()) for entry in sorted((store / "runs").glob("*/*/*"))]

    def whole(record: dict) -> bool:
        return bool(record.get("outs")) and all(has_output(store, out) for out in record["outs"])

    def done(run: str) -> bool:
        target, *overrides = run.split()
        record = stages.get(target)
        if record is None:
            return False
        if not overrides:
            return whole(record)
        params = record.get("params", {})
        for override in overrides:
            params = overridden(params, override)
        return any(entry.get("cmd") == record["cmd"] and dep_hashes(entry) == dep_hashes(record)
                   and entry.get("params", {}) == params and whole(entry) for entry in entries)

    return [run for run in runs if done(run)]


def describe(missing: dict[Path, list[str]], store: Path) -> str:
    commands = sorted({yaml.safe_load(entry.read_text())["cmd"] for entry in missing})
    return (f"{store}: {len(missing)} run-cache entries without their outputs ({', '.join(commands[:3])}"
            f"{', ...' if len(commands) > 3 else ''}); push a run's outputs with `dvc push TARGET` while dvc.lock "
            f"names them, or drop the entries: python -m cnnlstm.store_outputs --prune {store}")


@exit_on_error
def main(argv: list[str]) -> None:
    flags = [arg for arg in argv if arg.startswith("--")]
    rest = [arg for arg in argv if not arg.startswith("--")]
    if set(flags) - {"--prune", "--done"} or len(flags) > 1 or len(rest) > 1:
        raise CnnLstmError("usage: python -m cnnlstm.store_outputs [--prune | --done] [STORE]")
    store = Path(rest[0]) if rest else DEFAULT_STORE
    if not (store / "runs").is_dir():
        raise CnnLstmError(f"{store}/runs: no run-cache entries there (is {store} the DVC remote folder?)")
    if flags == ["--done"]:
        print(*done_runs(store, sys.stdin.read().splitlines()), sep="\n")
        return
    missing = entries_without_outputs(store, not_pushed())
    if flags == ["--prune"]:
        prune(store, list(missing))
        print(f"store_outputs: removed {len(missing)} run-cache entries without their outputs from {store}")
    elif missing:
        raise CnnLstmError(describe(missing, store))
    else:
        print(f"store_outputs: every run-cache entry in {store} has its outputs there")


if __name__ == "__main__":
    main(sys.argv[1:])
