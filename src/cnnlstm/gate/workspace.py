"""A throwaway copy of the repository in which DVC runs the pipeline, leaving the original untouched."""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
from collections.abc import Callable
from pathlib import Path

from cnnlstm.core.errors import CnnLstmError

LOG_TAIL_LINES = 40
UP_TO_DATE = "Data and pipelines are up to date."  # what `dvc status` prints when nothing would rerun
GIT_IDENTITY = ("-c", "user.name=cnnlstm gate", "-c", "user.email=gate@cnnlstm.invalid")  # CI may have none


def _git(repo: Path, *args: str) -> str:
    try:
        result = subprocess.run(["git", "-C", str(repo), *args], capture_output=True, text=True, check=True)
    except FileNotFoundError:
        raise CnnLstmError("git: not found on PATH; the gate copies the repository with it") from None
    except subprocess.CalledProcessError as exc:
        raise CnnLstmError(f"{repo}: git {' '.join(args)} failed: {exc.stderr.strip()}") from None
    return result.stdout


def copy_repo(repo: str | Path, dest: str | Path) -> Path:
    """Copy what a clone plus the working tree's edits would hold (tracked and untracked files, not
    ignored ones: no venv, no DVC cache, no outputs) into `dest`, committed to a fresh git
    repository (dvclive needs a commit)."""
    repo, dest = Path(repo).resolve(), Path(dest)
    listed = _git(repo, "ls-files", "--cached", "--others", "--exclude-standard", "-z").split("\0")
    for name in filter(None, listed):
        source = repo / name
        if source.is_file():  # tracked files deleted in the working tree are listed too
            (dest / name).parent.mkdir(parents=True, exist_ok=True)
            shutil.copy2(source, dest / name)
    _git(dest, "init", "-q")
    _git(dest, "add", "-A")
    _git(dest, *GIT_IDENTITY, "commit", "-q", "-m", f"copy of {repo}")
    return dest


def stage_env(workdir: Path) -> dict[str, str]:
    """The environment for DVC and its stages: this interpreter's tools first, and the copy's own
    `src/` ahead of any installed cnnlstm, so the copy's code is what runs."""
    env = dict(os.environ)
    env["PATH"] = os.pathsep.join([str(Path(sys.executable).parent), env.get("PATH", "")])
    env["PYTHONPATH"] = os.pathsep.join(filter(None, [str(workdir.resolve() / "src"), env.get("PYTHONPATH")]))
    env["DVC_NO_ANALYTICS"] = "1"
    return env


def dvc(workdir: str | Path, *args: str, log: Path | None = None, on_line: Callable[[str], None] | None = None) -> str:
    """Run `dvc ARGS` in `workdir` and return its output; on failure print its tail and raise.
    With `log`, output goes to that file as it comes (long runs can be watched), each line also
    to `on_line` (progress)."""
    workdir = Path(workdir)
    command = [sys.executable, "-m", "dvc", *args]
    if log is None:
        result = subprocess.run(command, cwd=workdir, env=stage_env(workdir), capture_output=True, text=True)
        output, code = result.stdout + result.stderr, result.returncode
    else:
        with log.open("w") as out, subprocess.Popen(
            command, cwd=workdir, env=stage_env(workdir), stdout=subprocess.PIPE, stderr=subprocess.STDOUT,
            text=True, bufsize=1,
        ) as process:
            assert process.stdout is not None
            for line in process.stdout:
                out.write(line)
                out.flush()
                if on_line is not None:
                    on_line(line)
            code = process.wait()
        output = log.read_text()
    if code != 0:
        print("\n".join(output.splitlines()[-LOG_TAIL_LINES:]), file=sys.stderr)
        raise CnnLstmError(f"dvc {' '.join(args)} failed in {workdir} (exit {code}, output above)")
    return output
