"""DVC issue 11091: a failed `dvc repro` can drop the .gitignore entries DVC writes beside new outputs,
so the root .gitignore covers model, checkpoint and result files by pattern."""

from __future__ import annotations

import shutil
import subprocess

from conftest import REPO

CACHED = [  # what a new model "new" leaves behind when a later stage fails
    "models/new/fold0.pt", "results/new/fold0.npz", "checkpoints/new-fold0.pt",
    "models/new/.fold1.pt.x1y2z3.tmp", "data/raw/train-images-idx3-ubyte.gz", "data/folds.npy",
    "runs/new/fold0/run.json", "results/new/fold0.metrics.json",  # cached: they travel through dvcstore/
]
GIT_TRACKED = [
    "logs/train/new/fold0/run.json", "metrics/runs/new/fold0.json", "plots/figures/roc.png",
    "pretrained/new/fold0.pt",  # the shipped model: committed so a fresh clone can predict
    "dvcstore/files/md5/ab/cdef0123", "dvcstore/runs/ab/abcd/ef01",  # the in-repo DVC remote (docs/workflow.md)
]


def test_failed_run_leaves_no_committable_model_or_checkpoint(tmp_path):
    shutil.copy(REPO / ".gitignore", tmp_path / ".gitignore")
    subprocess.run(["git", "init", "-q"], cwd=tmp_path, check=True)
    for name in CACHED + GIT_TRACKED:
        (tmp_path / name).parent.mkdir(parents=True, exist_ok=True)
        (tmp_path / name).write_bytes(b"x")
    status = subprocess.run(["git", "status", "--porcelain", "--untracked-files=all"], cwd=tmp_path,
                            capture_output=True, text=True, check=True).stdout.split("\n")
    listed = {line[3:] for line in status if line}
    assert listed == {".gitignore", *GIT_TRACKED}  # cache: false outputs stay visible to git on purpose
