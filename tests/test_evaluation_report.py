"""Plots and report stages over a synthetic study: readable files, and verdicts derived from numbers."""

from __future__ import annotations

import json
import shutil
from pathlib import Path

import pandas as pd
import pytest
import yaml
from PIL import Image

from cnnlstm.report.build import verdict_phrase
from cnnlstm.study.verdicts import decide
from test_evaluation import REPO, run_stage, write_fake_study

STUDY = ["cnn32", "lstm", "cnn32_bilstm", "cnn32_wide"]


@pytest.fixture(scope="module")
def built_study(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A small fake study taken through aggregate, plots, budget and report once for the whole module."""
    root = write_fake_study(tmp_path_factory.mktemp("study"), yaml.safe_load((REPO / "params.yaml").read_text()), STUDY)
    with pytest.MonkeyPatch.context() as mp:
        mp.chdir(root)
        for stage in ("aggregate", "plots"):
            run_stage(stage)
        (root / "metrics/budgets").mkdir()
        epochs = yaml.safe_load((root / "params.yaml").read_text())["train"]["epochs"]
        shutil.copy(root / "metrics/summary.json", root / f"metrics/budgets/{epochs}ep.json")  # one budget point
        run_stage("budget")
        run_stage("report")
    return root


def test_figures_are_images(built_study: Path) -> None:
    figures = built_study / "plots/figures"
    names = {"roc_best_model", "roc_worst_class", "tsne", "learning_curves", "accuracy_vs_cost", "paired_differences"}
    summary = json.loads((built_study / "metrics/summary.json").read_text())
    shown = {summary["best_model"], summary["proposed_model"]}
    names |= {f"confusion/{m}" for m in shown}
    assert {p.stem for p in (figures / "confusion").glob("*.png")} == shown  # best and proposed only
    for name in names:
        with Image.open(figures / f"{name}.png") as image:
            assert image.format == "PNG" and min(image.size) > 300


def test_plot_data_name_every_model(built_study: Path) -> None:
    models = {*STUDY, "cnn32_lstm"}
    summary = json.loads((built_study / "metrics/summary.json").read_text())
    for name in ("roc_worst_class", "confusion", "tsne", "learning_curves", "cost"):
        frame = pd.read_csv(built_study / f"plots/data/{name}.csv")
        shown = {summary["best_model"], summary["proposed_model"]} if name in ("confusion", "tsne") else models
        assert set(frame["model"]) == shown, name
    roc = pd.read_csv(built_study / "plots/data/roc_best_model.csv")
    assert roc["class"].nunique() == 10 and roc["tpr"].between(0, 1).all()


def test_dvc_yaml_plots_use_existing_templates_and_files(built_study: Path) -> None:
    plots = yaml.safe_load((REPO / "dvc.yaml").read_text())["plots"]
    for definition in plots:
        if isinstance(definition, str):
            continue
        ((_, spec),) = definition.items()
        assert (REPO / ".dvc/plots" / f"{spec['template']}.json").is_file()
        ((data_file, field),) = spec["y"].items()
        columns = pd.read_csv(built_study / data_file).columns
        assert spec["x"] in columns and field in columns


@pytest.mark.parametrize(
    ("p_holm", "p_tost_holm", "diff", "expected"),
    [(0.01, 0.9, 0.004, "better"), (0.01, 0.9, -0.004, "worse"), (0.01, 0.01, -0.001, "worse"),
     (0.2, 0.01, 0.001, "equivalent"), (0.05, 0.2, 0.004, "inconclusive"), (None, None, 0.004, "inconclusive"),
     (0.2, 0.05, 0.0, "inconclusive")],
)
def test_verdict_follows_holm_p_tost_and_sign(p_holm, p_tost_holm, diff, expected) -> None:
    assert decide({"p_ttest_holm": p_holm, "p_tost_holm": p_tost_holm, "mean_diff": diff}) == expected


def test_report_states_the_verdict_that_the_numbers_give(built_study: Path) -> None:
    report = (built_study / "reports/REPORT.md").read_text()
    summary = json.loads((built_study / "metrics/summary.json").read_text())
    for question in ("lstm_vs_cnn", "param_matched", "bidirectional", "vs_row_lstm"):
        for entry in summary["comparisons"][question].values():
            stats = entry["accuracy"]
            start = f"- **{entry['model']}** vs **{entry['baseline']}**"
            line = next(line for line in report.splitlines() if line.startswith(start))
            assert stats["verdict"] == decide(stats)
            assert f"**{verdict_phrase(stats, summary['equivalence_margin'])}**" in line
            assert f"{stats['mean_diff'] * 100:+.2f} pp" in line
    sizes = {name: f"{summary['models'][name]['params']:,}" for name in ("cnn32_bilstm", "cnn32_wide", "cnn32")}
    assert f"Parameters: hybrid {sizes['cnn32_bilstm']}, CNN {sizes['cnn32_wide']}" in report
    assert f"against **cnn32** ({sizes['cnn32']}), the CNN with the same convolutions" in report
    best = summary["best_hybrid"]
    best_test = summary["reference"]["models"][best]["test_accuracy"]
    assert f"- **{best}** (the best hybrid by held-out accuracy)" in report
    assert f"fold ensemble {best_test * 100:.2f}% test accuracy" in report
    assert "no significant difference" not in report and "published" not in report
    for image in ("roc_worst_class", "roc_best_model", "learning_curves", "accuracy_vs_cost", "tsne",
                  "paired_differences"):
        assert f"](../plots/figures/{image}.png)" in report
    assert "](../plots/budget/paired_differences.png)" in report
    assert (built_study / "reports/tables/models.md").read_text() in report


def test_report_reads_like_a_report_with_the_conditions_stated_once(built_study: Path) -> None:
    report = (built_study / "reports/REPORT.md").read_text()
    summary = json.loads((built_study / "metrics/summary.json").read_text())
    headings = [line for line in report.splitlines() if line.startswith("## ")]
    assert headings[:4] == ["## Summary", "## Methods in brief", "## Results", "## What more epochs and other seeds change"]
    assert "## Limitations" in headings
    conditions = f"at a {summary['conditions']['epochs']}-epoch budget"
    assert report.count(conditions) == 1 and conditions in report.split("## Methods")[0]
    summary_part = report.split("## Methods")[0]
    assert "**Answer: adding an LSTM to the CNN" in summary_part
    assert report.splitlines()[2].startswith("*Code and parameters of ")  # the stamp: test_code_version.py
    assert (built_study / "reports/budget/budget.md").read_text().strip() in report  # read, not copied by hand


def test_html_twin_is_self_contained(built_study: Path) -> None:
    page = (built_study / "reports/REPORT.html").read_text()
    assert page.startswith("<!DOCTYPE html>") and "<h2>Summary</h2>" in page and "<table>" in page
    images = page.count("<img ")
    assert images >= 8 and page.count('src="data:image/png;base64,') == images
    assert "http://" not in page and "https://" not in page  # opens offline


def test_report_refuses_a_summary_of_other_models(built_study: Path, tmp_path: Path, monkeypatch, capsys) -> None:
    root = tmp_path / "repo"
    shutil.copytree(built_study, root)
    monkeypatch.chdir(root)
    params = yaml.safe_load(Path("params.yaml").read_text())
    params["study"]["models"] = ["cnn32", "lstm"]
    Path("params.yaml").write_text(yaml.safe_dump(params))
    with pytest.raises(SystemExit):
        run_stage("report")
    assert "metrics/summary.json: summarises other models" in capsys.readouterr().err


def test_plots_and_report_of_a_study_between_sittings(built_study: Path, tmp_path: Path, monkeypatch) -> None:
    """After `aggregate --incomplete lstm` (one of its folds not run yet), plots and report cover the
    complete models and say which one is incomplete."""
    root = tmp_path / "repo"
    shutil.copytree(built_study, root)
    monkeypatch.chdir(root)
    for path in ("results/lstm/fold1.npz", "metrics/runs/lstm/fold1.json", "metrics/timings/lstm/fold1.json"):
        Path(path).unlink()
    shutil.rmtree("logs/train/lstm/fold1")
    run_stage("aggregate", "--incomplete", "lstm")
    run_stage("plots")
    run_stage("report")
    cost = pd.read_csv("plots/data/cost.csv")
    assert "lstm" not in set(cost["model"]) and "cnn32" in set(cost["model"])
    assert "lstm" in Path("reports/REPORT.md").read_text().split("incomplete", 1)[1][:300]
