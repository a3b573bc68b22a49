"""python -m cnnlstm.gate: run the smoke profile in a throwaway copy of the repository and compare
its metrics with the committed baseline; exit 1 on any regression beyond tolerance."""

from __future__ import annotations

import argparse
import contextlib
import sys
import tempfile
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

from cnnlstm.core.errors import CnnLstmError, exit_on_error
from cnnlstm.core.jsonio import read_json
from cnnlstm.gate.baseline import changed_params, check_folds, check_protocol, load_baseline, write_baseline
from cnnlstm.gate.compare import (
    Tolerance, compare, format_markdown, format_table, gated_metrics, load_tolerances, verdict,
)
from cnnlstm.gate.profile import deep_merge, load_mapping, profiled_params, protocol_sha256, write_params
from cnnlstm.gate.workspace import UP_TO_DATE, copy_repo, dvc, stage_env
from cnnlstm.study_progress import StudyProgress, announce, plan, train_epochs

SUMMARY = "metrics/summary.json"


def parse_args(argv: list[str] | None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(prog="python -m cnnlstm.gate", description=__doc__)
    parser.add_argument("--repo", type=Path, default=Path("."), help="repository to check (default: .)")
    parser.add_argument("--profile", default="profiles/smoke.yaml", help="params overlay, relative to --repo")
    parser.add_argument("--baseline", default="gate/baseline.json", help="relative to --repo")
    parser.add_argument("--tolerances", default="gate/tolerances.yaml", help="relative to --repo")
    parser.add_argument(
        "--update-baseline", action="store_true", help="write the baseline from this run instead of comparing"
    )
    where = parser.add_mutually_exclusive_group()
    where.add_argument("--workdir", type=Path, help="run in this new folder and keep it (default: a temporary one)")
    where.add_argument("--check", type=Path, metavar="DIR", help="run nothing: judge the finished smoke run in DIR")
    parser.add_argument("--markdown", type=Path, help="also append the table as markdown here (CI job summary)")
    return parser.parse_args(argv)


def run_smoke(repo: Path, params: dict[str, Any], workdir: Path) -> None:
    """Copy the repository into `workdir`, put it on the profile and reproduce the pipeline."""
    copy_repo(repo, workdir)
    write_params(workdir, params)
    planned = plan([sys.executable, "-m", "dvc"], cwd=workdir, env=stage_env(workdir))
    epochs = train_epochs(workdir / "params.yaml")
    print(f"gate: running the smoke profile in {workdir} (log: gate-repro.log there): {announce(planned, epochs)}",
          flush=True)
    progress = StudyProgress(planned, epochs)

    def report(line: str) -> None:
        note = progress.line(line)
        if note:
            print(f"gate: {note}", flush=True)

    start = time.monotonic()
    dvc(workdir, "repro", log=workdir / "gate-repro.log", on_line=report)
    print(f"gate: pipeline done in {time.monotonic() - start:.0f} s", flush=True)


def finished_run_params(workdir: Path, profile: dict[str, Any], profile_name: str) -> dict[str, Any]:
    """The params of a finished smoke run in `workdir`, after checking it is one: on the profile and
    up to date with its own code, so its metrics are what that code produces."""
    params = load_mapping(workdir / "params.yaml")
    if deep_merge(params, profile) != params:
        raise CnnLstmError(f"{workdir}/params.yaml: not on the profile {profile_name}")
    if UP_TO_DATE not in dvc(workdir, "status"):
        raise CnnLstmError(f"{workdir}: pipeline not up to date (see `dvc status` there); run `dvc repro` first")
    return params


def judge(
    args: argparse.Namespace, workdir: Path, params: dict[str, Any], protocol: str,
    baseline: dict[str, Any] | None, tolerances: tuple[Tolerance, ...],
) -> bool:
    """Compare the run's metrics with the baseline (None: make them the baseline); print the table."""
    baseline_path = args.repo.resolve() / args.baseline
    summary_file = workdir / SUMMARY
    if not summary_file.is_file():
        raise CnnLstmError(f"{summary_file}: not written by the smoke run; does dvc.yaml have the aggregate stage?")
    summary = read_json(summary_file)  # a truncated or non-JSON file is one line naming it
    now = gated_metrics(summary, tolerances, str(summary_file))
    folds_sha256 = summary.get("folds_sha256")
    if not isinstance(folds_sha256, str):
        raise CnnLstmError(f"{summary_file}: has no folds_sha256; not written by the aggregate stage")

    if baseline is None:
        write_baseline(
            baseline_path, now, profile=args.profile, protocol_sha256=protocol,
            folds_sha256=folds_sha256, params=params,
        )
        print(f"gate: wrote {baseline_path} ({len(now)} models x {len(tolerances)} metrics)")
        return True

    check_protocol(baseline, baseline_path, protocol)
    check_folds(baseline, baseline_path, folds_sha256)
    checks = compare(baseline["models"], now, tolerances)
    changes = changed_params(baseline["params"], params)
    for change in changes:
        print(f"gate: params changed since the baseline: {change}")
    print(format_table(checks))
    print(verdict(checks))
    if args.markdown is not None:
        with args.markdown.open("a") as out:
            out.write(f"### Regression gate ({args.profile})\n\n")
            out.writelines(f"- params changed since the baseline: `{change}`\n" for change in changes)
            out.write(f"\n{format_markdown(checks)}\n\n**{verdict(checks)}**\n")
    return all(check.passed for check in checks)


@contextlib.contextmanager
def new_workdir(requested: Path | None) -> Iterator[Path]:
    """The folder the smoke run happens in: `requested` (kept afterwards) or a temporary one."""
    if requested is None:
        with tempfile.TemporaryDirectory(prefix="cnnlstm-gate-") as tmp:
            yield Path(tmp)
        return
    if requested.exists():  # a stale copy would hide changes
        raise CnnLstmError(f"{requested}: --workdir must be a new folder")
    requested.mkdir(parents=True)
    yield requested.resolve()


@exit_on_error
def main(argv: list[str] | None = None) -> None:
    args = parse_args(argv)
    repo = args.repo.resolve()
    # Every config file is read first: a bad one fails before minutes of pipeline work.
    profile = load_mapping(repo / args.profile)
    tolerances = load_tolerances(repo / args.tolerances)
    baseline = None if args.update_baseline else load_baseline(repo / args.baseline)

    if args.check is not None:
        params = finished_run_params(args.check, profile, args.profile)
        passed = judge(args, args.check.resolve(), params, protocol_sha256(profile, params), baseline, tolerances)
    else:
        params = profiled_params(repo / "params.yaml", repo / args.profile)
        protocol = protocol_sha256(profile, params)
        if baseline is not None:
            check_protocol(baseline, repo / args.baseline, protocol)
        with new_workdir(args.workdir) as workdir:
            run_smoke(repo, params, workdir)
            passed = judge(args, workdir, params, protocol, baseline, tolerances)
    sys.exit(0 if passed else 1)


if __name__ == "__main__":
    main()
