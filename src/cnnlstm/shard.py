"""One machine's share of the study: python -m cnnlstm.shard K N

Shard K of N gets every N-th train stage (model x fold, in dvc.yaml's order, from the K-th on), so
each shard mixes models and the shards take about equally long. It reproduces those stages (and
what they need) with `dvc repro --pull`, pushing each run with its run-cache entry to the default DVC
remote as it finishes (cnnlstm.timed_repro). When every shard has pushed, any machine gets the
whole study with `make repro`: the trained runs are restored, none retrained (docs/workflow.md).
"""

from __future__ import annotations

import argparse
import subprocess
import sys

from cnnlstm.study_progress import kind
from cnnlstm.timed_repro import run


def train_stages() -> list[str]:
    """Every train stage of the pipeline (train@<model>-<fold>, train_hybrid@<fold>), dvc.yaml's order."""
    listed = subprocess.run(["dvc", "stage", "list", "--name-only"], capture_output=True, text=True, check=True)
    return [name for name in listed.stdout.split() if kind(name) == "train"]


def shard(stages: list[str], k: int, n: int) -> list[str]:
    """Shard k (1..n) of n: stages k-1, k-1+n, k-1+2n, ..."""
    return stages[k - 1::n]


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("k", type=int, help="this machine's shard, 1..N")
    parser.add_argument("n", type=int, help="how many machines share the study")
    args = parser.parse_args(argv)
    if args.n < 1 or not 1 <= args.k <= args.n:
        parser.error(f"shard {args.k} of {args.n}: K must be 1..N and N at least 1")
    try:
        mine = shard(train_stages(), args.k, args.n)
    except subprocess.CalledProcessError as exc:
        print(f"shard: dvc stage list failed (exit {exc.returncode}): {exc.stderr.strip()}", file=sys.stderr)
        return 1
    print(f"[shard {args.k}/{args.n}] {len(mine)} train stages: {' '.join(mine)}", flush=True)
    code = run(mine, rest=False)
    if code == 0:
        print(f"[shard {args.k}/{args.n}] done and pushed. With the in-repo remote, commit only the store "
              "(dvc.lock differs between shards; `make repro` rewrites it): git add dvcstore && git commit")
    return code


if __name__ == "__main__":
    sys.exit(main())
