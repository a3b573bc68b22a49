"""A DVC remote round trip: push from one clone to a local-folder remote, clone again, get the data,
pull, and find the pipeline up to date with nothing to rerun; the analysis stages, forced to rerun
there, write the committed metrics, plots and report byte for byte (docs/workflow.md)."""

from __future__ import annotations

import re

import pytest

from cnnlstm.gate.workspace import UP_TO_DATE, dvc
from smoke_fixtures import clone, git, needs_dataset

pytestmark = [pytest.mark.slow, needs_dataset]
# Everything after the model x fold runs; `ship` is left out: its manifest names the HEAD commit.
ANALYSIS = ("collect", "aggregate", "plots", "budget", "seeds", "report")


def test_push_clone_pull_is_up_to_date_without_retraining(smoke_repo, tmp_path):
    origin = clone(smoke_repo, tmp_path / "origin", share_cache=True)
    dvc(origin, "remote", "add", "-d", "storage", str(tmp_path / "dvc-storage"))
    git(origin, "commit", "-qam", "default remote")
    assert "files pushed" in dvc(origin, "push")

    fresh = clone(origin, tmp_path / "fresh", share_cache=False)  # everything must come from the remote
    assert "storage" in dvc(fresh, "remote", "list")
    dvc(fresh, "repro", "download")  # data/raw is not pushed (push: false): each machine gets it from its source
    dvc(fresh, "pull")
    assert UP_TO_DATE in dvc(fresh, "status")
    assert "Running stage" not in dvc(fresh, "repro")
    assert list((fresh / "models").rglob("*.pt")) and (fresh / "metrics" / "summary.json").is_file()

    rerun = dvc(fresh, "repro", "--force", "--single-item", *ANALYSIS)
    assert set(re.findall(r"Running stage '([^']+)'", rerun)) == set(ANALYSIS), rerun[-3000:]  # no training
    assert git(fresh, "status", "--porcelain") == "", "the rerun analysis differs from the committed one"
