"""Committed runs that the pipeline no longer matches: a guard for a study trained across sittings.

A run in the DVC remote is restored instead of retrained only while its stage's run-cache key is
unchanged: the same command, the same hashes of every dependency (the training code's folders, the
data) and the same params. One edit under src/cnnlstm/training/ changes the key of every training
stage, and the next sitting silently retrains the whole study. This finds such drift before any
training: a stage with committed runs none of which has the stage's current key.

    python -m cnnlstm.study_drift [STORE]     # STORE: the DVC remote folder, dvcstore/ by default
"""

from __future__ import annotations

import sys
from pathlib import Path

import yaml

from cnnlstm.core.errors import CnnLstmError, exit_on_error

DEFAULT_STORE = Path("dvcstore")


def committed_entries(store: Path) -> dict[str, list[Path]]:
    """Run-cache entries in the DVC remote folder `store`, by command: runs/<key[:2]>/<key>/<entry>."""
    found: dict[str, list[Path]] = {}
    for entry in sorted((store / "runs").glob("*/*/*")):
        cmd = yaml.safe_load(entry.read_text())["cmd"]
        found.setdefault(cmd, []).append(entry)
    return found


def changed_deps(entry: dict, now: dict[str, str | None], params_now: dict) -> list[str]:
    """What differs between a run-cache entry and the stage's current deps hashes (None: not there
    yet, e.g. data/raw before the download stage ran; not compared) and params."""
    recorded = {dep["path"]: dep.get("md5") for dep in entry.get("deps", [])}
    changed = [path for path, md5 in recorded.items() if path in now and now[path] not in (md5, None)]
    changed += [path for path in now if path not in recorded]
    changed += [path for path in recorded if path not in now]
    for params_file, values in (entry.get("params") or {}).items():
        changed += [f"{params_file}:{key}" for key, value in values.items()
                    if params_now.get(params_file, {}).get(key) != value]
    return changed


def produced_by_pipeline(repo) -> dict[str, list]:
    """Every stage output, by path: a dep that is (or holds, or lies in) one is another stage's result."""
    outs: dict[str, list] = {}
    for stage in repo.index.stages:
        for out in stage.outs:
            outs.setdefault(out.def_path, []).append(out)
    return outs


def outputs_in(path: str, outs: dict[str, list]) -> list:
    """The pipeline outputs that are `path`, lie under it or hold it."""
    return [out for out_path, found in outs.items() for out in found
            if out_path == path or out_path.startswith(path + "/") or path.startswith(out_path + "/")]


def current_hashes(stage, outs: dict[str, list]) -> tuple[dict[str, str | None], dict]:
    """The stage's deps hashes as they are now and its params values. None marks a dep not compared:
    one not there yet (data/raw before the download stage ran), or another stage's output that is
    not all there (models/cnn32/ in a fresh clone holds only its .gitignore until the train stages
    are restored); their producing stages are checked themselves."""
    now: dict[str, str | None] = {}
    for dep in stage.deps:
        if dep in stage.params:
            continue
        producers = outputs_in(dep.def_path, outs)
        if producers and not all(out.exists for out in producers):
            now[dep.def_path] = None
            continue
        try:
            dep.save()  # hashes the dep as it is now (DVC's state db makes it quick)
            now[dep.def_path] = dep.hash_info.value
        except dep.DoesNotExistError:
            now[dep.def_path] = None
    params_now = {}
    for dep in stage.params:
        dep.save()
        params_now[dep.def_path] = dep.hash_info.value
    return now, params_now


def drifted_stages(store: Path = DEFAULT_STORE) -> dict[str, list[str]]:
    """Stages with committed runs in `store` of which none matches the stage as it is now (a
    `dvc repro --pull` would retrain them), each with what changed against the closest entry."""
    from dvc.repo import Repo  # seconds to import

    entries = committed_entries(store)
    drifted: dict[str, list[str]] = {}
    with Repo() as repo:
        outs = produced_by_pipeline(repo)
        for stage in repo.index.stages:
            if stage.cmd not in entries:
                continue
            now, params_now = current_hashes(stage, outs)
            changes = min((changed_deps(yaml.safe_load(entry.read_text()), now, params_now)
                           for entry in entries[stage.cmd]), key=len)
            if changes:
                drifted[stage.addressing] = changes
    return drifted


def report(drifted: dict[str, list[str]]) -> str:
    """One line: how many stages drifted and what changed, most common first."""
    counts: dict[str, int] = {}
    for changes in drifted.values():
        for change in changes:
            counts[change] = counts.get(change, 0) + 1
    what = ", ".join(f"{change} ({n} stages)" for change, n in sorted(counts.items(), key=lambda kv: -kv[1]))
    return (f"{len(drifted)} stages with committed runs no longer match the pipeline and would retrain "
            f"({', '.join(sorted(drifted)[:3])}{', ...' if len(drifted) > 3 else ''}); changed since: {what}. "
            "Revert those changes (git diff against the commit the runs were trained on) or retrain on purpose")


@exit_on_error
def main(argv: list[str]) -> None:
    store = Path(argv[0]) if argv else DEFAULT_STORE
    if not (store / "runs").is_dir():
        raise CnnLstmError(f"{store}/runs: no run-cache entries there (is {store} the DVC remote folder?)")
    drifted = drifted_stages(store)
    if drifted:
        raise CnnLstmError(report(drifted))
    print(f"study_drift: every stage with committed runs in {store} still matches them")


if __name__ == "__main__":
    main(sys.argv[1:])
