"""python -m cnnlstm.small_study [PROFILE]: the study on a small slice, as a DVC experiment.

The profile's settings become `dvc exp run -S key=value` overrides, and `--temp` runs the
experiment in a temporary copy of the workspace: params.yaml and the published results stay as
they are, and the experiment appears in `dvc exp show` beside them."""

from __future__ import annotations

import argparse
import subprocess
import sys
import time
from pathlib import Path
from typing import Any

import yaml

from cnnlstm.core.errors import exit_on_error
from cnnlstm.gate.profile import load_mapping, profiled_params

DEFAULT_PROFILE = Path("profiles/small.yaml")


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
    command = ["dvc", "exp", "run", "--temp", "-n", name]
    for setting in overrides(load_mapping(args.profile)):
        command += ["-S", setting]
    print(" ".join(command), flush=True)
    started = time.monotonic()
    code = subprocess.run(command).returncode
    if code == 0:
        print(f"experiment {name}: done in {time.monotonic() - started:.0f} s; compare it with "
              f"`dvc exp show` and `dvc metrics diff HEAD {name}`")
    return code


if __name__ == "__main__":
    sys.exit(main())
