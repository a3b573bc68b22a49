"""On an up-to-date smoke run, `dvc status` sees exactly the stages whose code or params changed:
the deps in dvc.yaml are packages (tests/test_stage_deps.py), so no edit slips past them."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
import yaml

from cnnlstm.gate.workspace import dvc
from smoke_fixtures import clone, needs_dataset

pytestmark = [pytest.mark.slow, needs_dataset]


def changed_stages(repo: Path) -> set[str]:
    """Stage names `dvc status` reports, with matrix suffixes folded (`train@cnn16-0` -> `train`)."""
    return {name.split("@")[0] for name in json.loads(dvc(repo, "status", "--json"))}


def append_line(path: Path, line: str) -> None:
    path.write_text(path.read_text() + line + "\n")


@pytest.fixture
def repo(smoke_repo: Path, tmp_path: Path) -> Path:
    repo = clone(smoke_repo, tmp_path / "clone", share_cache=True)
    assert changed_stages(repo) == set()
    return repo


def test_editing_fold_code_changes_every_stage_that_imports_it(repo: Path) -> None:
    append_line(repo / "src/cnnlstm/data/folds.py", "FOLD_FORMAT_VERSION = 1")
    # report imports no data code: it reruns because aggregate's and plots' outputs change; budget and
    # seeds import data code through figures/; ship imports none and reruns only if a model file changes
    assert changed_stages(repo) == {
        "download", "split", "train", "train_hybrid", "evaluate", "evaluate_hybrid", "aggregate", "plots",
        "budget", "seeds",
    }


def test_editing_report_code_changes_only_the_stages_that_import_it(repo: Path) -> None:
    append_line(repo / "src/cnnlstm/report/build.py", "REPORT_FORMAT_VERSION = 1")
    assert changed_stages(repo) == {"report"}


def test_changing_the_proposed_model_changes_only_its_stages(repo: Path) -> None:
    params = yaml.safe_load((repo / "params.yaml").read_text())
    params["model"]["bidirectional"] = True
    (repo / "params.yaml").write_text(yaml.safe_dump(params, sort_keys=False))
    # evaluate_hybrid follows its models; budget and seeds judge in Holm families derived from every
    # configured model (docs/preregistration.md), so the proposed model's config is theirs too
    assert changed_stages(repo) == {"train_hybrid", "aggregate", "budget", "seeds"}
