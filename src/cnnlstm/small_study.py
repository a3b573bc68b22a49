"""python -m cnnlstm.small_study [PROFILE]: the study on a small slice, as a DVC experiment.

The profile's settings become `dvc exp run -S key=value` overrides, and `--temp` runs the
experiment in a temporary copy of the workspace: params.yaml and the published results stay as
they are, and the experiment appears in `dvc exp show` beside them."""

from __future__ import annotations

import argparse
import os
import subprocess
import sys
import time
from pathlib import Path
from typing import Any

import yaml

from cnnlstm.core.errors import CnnLstmError, exit_on_error
from cnnlstm.gate.profile import load_mapping, profiled_params

DEFAULT_PROFILE = Path("profiles/small.yaml")


def venv_environment() -> tuple[Path, dict[str, str]]:
    """The dvc of this interpreter's environment, and an environment whose PATH starts with its bin
    folder: `.venv/bin/python -m cnnlstm.small_study` works on a plain PATH, and the stages DVC starts
    (`python stages/...`) get this python, not the system's."""
    bin_dir = Path(sys.executable).parent
    dvc = bin_dir / "dvc"
    if not dvc.is_file():
        raise CnnLstmError(f"{dvc}: not found; install the pinned packages (make test) and run this with that python")
    return dvc, {**os.environ, "PATH": os.pathsep.join([str(bin_dir), os.environ.get("PATH", "")])}


def overrides(profile: dict[str, Any], prefix: str = "") -> list[str]:
    """`key.sub=value` for every leaf of `profile`; lists as YAML flow lists, as `-S` parses them."""
    flat = []
    for key, value in profile.items():
        if isinstance(value, dict):
            flat += overrides(value, f"{prefix}{key}.")
        else:
            flat.append(f"{prefix}{key}={yaml.safe_dump(value, default_flow_style=True).strip().removesuffix('...').strip()}")
    return flat


@exit_on_error
def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m cnnlstm.small_study", description=__doc__)
    parser.add_argument("profile", nargs="?", type=Path, default=DEFAULT_PROFILE)
    parser.add_argument("--name", help="experiment name (default: the profile's name and the time)")
    args = parser.parse_args(argv)
    profiled_params("params.yaml", args.profile)  # a bad profile fails here, before DVC starts
    name = args.name or f"{args.profile.stem}-{time.strftime('%Y%m%d-%H%M%S')}"
    dvc, env = venv_environment()
    command = [str(dvc), "exp", "run", "--temp", "-n", name]
    for setting in overrides(load_mapping(args.profile)):
        command += ["-S", setting]
    print(" ".join(command), flush=True)
    started = time.monotonic()
    code = subprocess.run(command, env=env).returncode
    if code == 0:
        print(f"experiment {name}: done in {time.monotonic() - started:.0f} s; compare it with "
              f"`dvc exp show` and `dvc metrics diff HEAD {name}`")
    return code


if __name__ == "__main__":
    sys.exit(main())
