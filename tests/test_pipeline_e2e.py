"""The whole pipeline on the smoke profile (every stage, every study model, a 2% slice of the real
data), reproduced once per session in a fresh copy of the repository by `smoke_repo`."""

from __future__ import annotations

import json
import re

import pytest
import yaml

from conftest import run_in
from smoke_fixtures import needs_dataset

pytestmark = [pytest.mark.slow, needs_dataset]


def test_outputs_of_every_stage(smoke_repo):
    params = yaml.safe_load((smoke_repo / "params.yaml").read_text())
    names = [*params["study"]["models"], params["model"]["name"]]
    summary = json.loads((smoke_repo / "metrics" / "summary.json").read_text())
    assert set(summary["models"]) == set(names)
    for name in names:
        for fold in params["cv"]["fold_ids"]:
            assert (smoke_repo / "models" / name / f"fold{fold}.pt").is_file()
            assert (smoke_repo / "results" / name / f"fold{fold}.npz").is_file()
            assert (smoke_repo / "logs" / "train" / name / f"fold{fold}" / "run.json").is_file()
    assert list((smoke_repo / "plots").rglob("*.png"))
    assert (smoke_repo / "reports" / "REPORT.md").read_text().strip()


def test_second_repro_runs_nothing(smoke_repo):
    again = run_in(smoke_repo, "dvc", "repro")
    assert not re.findall(r"Running stage '([^']+)'", again.stdout), again.stdout
    assert "up to date" in run_in(smoke_repo, "dvc", "status").stdout
