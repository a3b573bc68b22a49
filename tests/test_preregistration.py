"""The converged study's analysis is the one pre-registered: params.yaml's recipe and analysis values
equal those of the commit that added docs/preregistration.md (git history shows which came first)."""

from __future__ import annotations

import subprocess

import pytest
import yaml

from conftest import REPO

PREREGISTRATION = "docs/preregistration.md"
# Where a study runs, not what it is: these may differ between machines without changing the recipe.
PLACE_KEYS = ("device", "threads", "cuda_graphs")


def _git(*args: str) -> str:
    return subprocess.run(["git", *args], cwd=REPO, capture_output=True, text=True, check=True).stdout


def _registered_params() -> dict:
    try:
        commit = _git("log", "--diff-filter=A", "--format=%H", "--", PREREGISTRATION).split()
    except (subprocess.CalledProcessError, FileNotFoundError):
        commit = []
    if not commit:
        pytest.skip("no git history of docs/preregistration.md here (not a clone of the repository)")
    return yaml.safe_load(_git("show", f"{commit[-1]}:params.yaml"))


def _recipe(params: dict) -> dict:
    return {k: v for k, v in params["train"].items() if k not in PLACE_KEYS}


def _analysis(params: dict) -> dict:
    return {k: v for k, v in params["study"].items() if k != "models"}


def test_recipe_is_the_preregistered_one() -> None:
    current = yaml.safe_load((REPO / "params.yaml").read_text())
    assert _recipe(current) == _recipe(_registered_params())


def test_analysis_is_the_preregistered_one() -> None:
    current = yaml.safe_load((REPO / "params.yaml").read_text())
    registered = _analysis(_registered_params())
    assert _analysis(current) == registered
    assert registered["equivalence_margin"] == 0.005 and registered["ttest_train_size"] == "fitted"


def test_the_document_states_every_value() -> None:
    """Each pre-registered key is named in the document that gives its reason."""
    text = (REPO / PREREGISTRATION).read_text()
    current = yaml.safe_load((REPO / "params.yaml").read_text())
    for key in _analysis(current):
        assert f"study.{key}" in text, key


def test_the_analysis_code_reads_exactly_the_preregistered_values() -> None:
    """What aggregate records as the analysis it used (summary.json `analysis`) is params.yaml's `study:`,
    value for value; tests/test_evaluation.py checks the stage writes this record."""
    from cnnlstm.core.params import load_params
    from cnnlstm.study.analysis import analysis_record

    params = load_params(REPO / "params.yaml")
    record = analysis_record(params.analysis, params.equivalence_margin)
    assert {k: v for k, v in record.items() if k != "alpha"} == _analysis(_registered_params())
    assert record["alpha"] == 0.05  # the pre-registered level of the primary test


def test_amendment_1_precedes_every_run_of_its_budget() -> None:
    """The commit that added Amendment 1 is an ancestor of every commit holding one of its runs (the queue
    names the override in its commit subject) or its budget point."""
    from cnnlstm.study.extension import extension_epochs

    try:
        added = _git("log", "--format=%H", "-S", "## Amendment 1", "--", PREREGISTRATION).split()
    except (subprocess.CalledProcessError, FileNotFoundError):
        added = []
    if not added:
        pytest.skip("no git history of the amendment here (not a clone of the repository)")
    epochs = extension_epochs(yaml.safe_load((REPO / "params.yaml").read_text())["train"]["epochs"])
    runs = _git("log", "--format=%H", "-E", rf"--grep=train\.epochs={epochs} \(").split()
    points = _git("log", "--format=%H", "--diff-filter=A", "--", f"metrics/budgets/{epochs}ep*").split()
    for commit in runs + points:
        ancestor = subprocess.run(["git", "merge-base", "--is-ancestor", added[-1], commit], cwd=REPO)
        assert ancestor.returncode == 0, f"{commit} holds a {epochs}-epoch result but does not descend from {added[-1]}"
