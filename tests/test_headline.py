"""The headline metrics DVC shows: taken from the summary, one short column per model, narrow."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import yaml

from cnnlstm.study.headline import ACCURACY, PER_MODEL, headline, write_headline
from cnnlstm.study.summary_file import read_study_summary
from conftest import REPO


def summary_of(models: dict[str, tuple[float, float, float]], best: str | None = None,
               proposed: str | None = None) -> dict:
    """A metrics/summary.json-shaped mapping: model -> (held-out mean, std, test-ensemble accuracy)."""
    names = list(models)
    return {"best_model": best or names[0], "proposed_model": proposed or names[-1], "models": {
        name: {"cv": {"accuracy": {"mean": mean, "std": std}, "log_loss": {"mean": 0.3, "std": 0.01}},
               "test_ensemble": {"accuracy": test, "log_loss": 0.3}}
        for name, (mean, std, test) in models.items()
    }}


def test_headline_takes_every_models_accuracy_from_the_summary() -> None:
    accuracy, per_model = headline(summary_of({"cnn32": (0.91, 0.004, 0.905), "lstm": (0.87, 0.005, 0.872),
                                               "hybrid": (0.9, 0.004, 0.9)}))
    assert accuracy == {"cnn32": 0.91, "lstm": 0.87, "hybrid": 0.9}
    assert per_model == {"cnn32": {"acc_std": 0.004, "test_acc": 0.905, "role": "best"},
                         "lstm": {"acc_std": 0.005, "test_acc": 0.872},
                         "hybrid": {"acc_std": 0.004, "test_acc": 0.9, "role": "proposed"}}
    assert sorted(per_model["cnn32"]) == ["acc_std", "role", "test_acc"]  # DVC sorts keys: the std comes first


def test_a_best_proposed_model_has_both_roles() -> None:
    _, per_model = headline(summary_of({"a": (0.9, 0.1, 0.9), "b": (0.8, 0.1, 0.8)}, best="a", proposed="a"))
    assert per_model["a"]["role"] == "best, proposed" and "role" not in per_model["b"]


def test_write_headline_replaces_stale_models(tmp_path: Path) -> None:
    accuracy, folder = tmp_path / "accuracy.json", tmp_path / "models"
    write_headline(summary_of({"a": (0.5, 0.1, 0.5), "b": (0.6, 0.1, 0.6)}), accuracy, folder)
    write_headline(summary_of({"a": (0.7, 0.1, 0.7)}), accuracy, folder)
    assert json.loads(accuracy.read_text()) == {"a": 0.7}
    assert sorted(p.name for p in folder.iterdir()) == ["a.json"]


def test_committed_headline_fits_210_columns_and_lists_every_complete_model() -> None:
    """197 columns before the role column (10 more); `dvc metrics show metrics/models` is the narrow view.
    A study between sittings leaves out the models its summary lists as incomplete."""
    params = yaml.safe_load((REPO / "params.yaml").read_text())
    studied = (*params["study"]["models"], params["model"]["name"])
    _, incomplete = read_study_summary(REPO / "metrics" / "summary.json", studied)
    models = set(studied) - set(incomplete)
    assert models, "the committed summary reports no complete model"
    accuracy = json.loads((REPO / ACCURACY).read_text())
    assert set(accuracy) == {p.stem for p in (REPO / PER_MODEL).glob("*.json")} == models
    shown = subprocess.run([sys.executable, "-m", "dvc", "metrics", "show"], cwd=REPO, check=True,
                           capture_output=True, text=True).stdout.splitlines()
    assert max(map(len, shown)) <= 210, max(map(len, shown))
    header = shown[0].split()
    assert models <= set(header) and {"acc_std", "test_acc"} <= set(header)
    assert {line.split()[0] for line in shown[1:]} == {str(ACCURACY), *(f"{PER_MODEL}/{m}.json" for m in models)}


def test_dvc_yaml_declares_the_headline_as_metrics_and_the_summary_as_an_output() -> None:
    aggregate = yaml.safe_load((REPO / "dvc.yaml").read_text())["stages"]["aggregate"]
    metrics = [next(iter(entry)) for entry in aggregate["metrics"]]
    outs = [next(iter(entry)) if isinstance(entry, dict) else entry for entry in aggregate["outs"]]
    assert metrics == [str(ACCURACY), str(PER_MODEL)]
    assert "metrics/summary.json" in outs
