"""Accuracy against training budget, on synthetic budget summaries: loading and checks, the tables, the
training-FLOPs arithmetic, the figure, the stage end to end, and a real aggregate summary as a point."""

from __future__ import annotations

import json
import runpy
import shutil
from pathlib import Path

import pandas as pd
import pytest
from PIL import Image

from cnnlstm.core.errors import CnnLstmError
from cnnlstm.study.budget import budget_comparisons, budget_markdown, budget_table, load_budget_points, recipe
from test_evaluation import REPO, fake_study, fake_study_template, run_stage  # noqa: F401 (fixtures)

FLOPS = {"cnn32": 1_000_000, "cnn32_lstm": 2_000_000}


def conditions(epochs: int, augment: bool = True, device: str = "cuda") -> dict:
    return {
        "epochs": epochs, "optimizer": "adamw", "lr": 0.006, "schedule": "onecycle", "batch_size": 512,
        "weight_decay": 0.01, "label_smoothing": 0.1,
        "augment": {"crop_padding": 2 if augment else 0, "hflip": augment, "erasing": 0.25 if augment else 0.0},
        "train_device": device, "train_precision": "bf16", "train_images": 51_300,
        "eval_device": device, "eval_precision": "fp32",
    }


def summary(epochs: int, accuracy: dict[str, float], verdict: str, **kwargs) -> dict:
    """A budget point as the aggregate stage writes it, reduced to what the budget tables read."""
    diff = accuracy["cnn32_lstm"] - accuracy["cnn32"]
    stats = {"mean_diff": diff, "ci95_low": diff - 0.002, "ci95_high": diff + 0.002, "p_ttest": 0.01,
             "p_ttest_holm": 0.02, "p_tost_holm": 0.5, "wins": 8, "folds": 10, "verdict": verdict}
    return {
        "folds": 10, "conditions": conditions(epochs, **kwargs), "equivalence_margin": 0.005, "proposed_model": "cnn32_lstm",
        "models": {m: {"cv": {"accuracy": {"mean": a, "std": 0.004}}, "test_ensemble": {"accuracy": a - 0.001},
                       "flops_per_image": FLOPS[m]} for m, a in accuracy.items()},
        "comparisons": {"lstm_vs_cnn": {"cnn32_lstm-vs-cnn32": {"model": "cnn32_lstm", "baseline": "cnn32",
                                                                "accuracy": stats}}},
    }


@pytest.fixture
def budgets(tmp_path: Path) -> Path:
    folder = tmp_path / "metrics/budgets"
    folder.mkdir(parents=True)
    points = {
        "30ep": summary(30, {"cnn32": 0.935, "cnn32_lstm": 0.936}, "equivalent"),
        "2ep-cpu": summary(2, {"cnn32": 0.911, "cnn32_lstm": 0.906}, "worse", augment=False, device="cpu"),
        "10ep": summary(10, {"cnn32": 0.928, "cnn32_lstm": 0.925}, "worse"),
        "5ep": summary(5, {"cnn32": 0.920, "cnn32_lstm": 0.914}, "worse"),
    }
    for name, point in points.items():
        (folder / f"{name}.json").write_text(json.dumps(point))
    return folder


def test_points_are_ordered_by_epochs(budgets: Path) -> None:
    assert list(load_budget_points(budgets)) == ["2ep-cpu", "5ep", "10ep", "30ep"]


@pytest.mark.parametrize(("name", "content", "message"), [
    ("5epochs.json", summary(5, {"cnn32": 0.9, "cnn32_lstm": 0.9}, "worse"), "are named <epochs>ep.json"),
    ("7ep.json", summary(5, {"cnn32": 0.9, "cnn32_lstm": 0.9}, "worse"), "named 7 epochs but its runs trained for 5"),
    ("5ep.json", {"models": {}}, "has no `conditions`"),
])
def test_a_misfiled_point_is_a_one_line_error(tmp_path: Path, name: str, content: dict, message: str) -> None:
    (tmp_path / name).write_text(json.dumps(content))
    with pytest.raises(CnnLstmError, match=message):
        load_budget_points(tmp_path)


def test_no_points_is_an_error(tmp_path: Path) -> None:
    with pytest.raises(CnnLstmError, match="no budget summaries"):
        load_budget_points(tmp_path)


def test_table_holds_accuracy_and_training_flops(budgets: Path) -> None:
    table = budget_table(load_budget_points(budgets)).set_index(["point", "model"])
    row = table.loc[("10ep", "cnn32_lstm")]
    assert (row["epochs"], row["accuracy_mean"], row["accuracy_std"]) == (10, 0.925, 0.004)
    assert row["train_flops"] == 3 * 2_000_000 * 51_300 * 10  # forward + backward ~ 3 forwards, per fold
    assert row["test_accuracy"] == pytest.approx(0.924)
    # the CPU point was trained another way: it is not on the same curve
    assert table.loc[("2ep-cpu", "cnn32"), "recipe"] != table.loc[("5ep", "cnn32"), "recipe"]
    assert table.loc[("5ep", "cnn32"), "recipe"] == table.loc[("30ep", "cnn32"), "recipe"]
    assert "no augmentation" in recipe(conditions(2, augment=False)) and "cpu" in recipe(conditions(2, device="cpu"))


def test_markdown_shows_every_budget_and_the_verdict_at_each(budgets: Path) -> None:
    points = load_budget_points(budgets)
    text = budget_markdown(budget_table(points), budget_comparisons(points))
    header = next(line for line in text.splitlines() if line.startswith("| model"))
    assert [c.strip() for c in header.strip("|").split("|")] == ["model", "2ep-cpu", "5ep", "10ep", "30ep"]
    assert "93.50 ± 0.40" in text and "91.10 ± 0.40" in text
    assert "+0.10 pp, equivalent (8/10)" in text and "-0.50 pp, worse (8/10)" in text
    assert "**2ep-cpu**: adamw onecycle lr 0.006 batch 512, no augmentation, bf16 on cpu" in text


def test_a_model_missing_at_one_budget_shows_a_dash(budgets: Path) -> None:
    point = json.loads((budgets / "30ep.json").read_text())
    del point["models"]["cnn32_lstm"]
    (budgets / "30ep.json").write_text(json.dumps(point))
    points = load_budget_points(budgets)
    row = next(line for line in budget_markdown(budget_table(points), budget_comparisons(points)).splitlines()
               if line.startswith("| cnn32_lstm"))
    assert row.rstrip("|").split("|")[-1].strip() == "–"


def test_budget_stage_writes_tables_and_figure(budgets: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.chdir(budgets.parents[1])
    runpy.run_path(str(REPO / "stages/budget.py"), run_name="__main__")
    frame = pd.read_csv("plots/budget/budget.csv")
    assert set(frame["point"]) == {"2ep-cpu", "5ep", "10ep", "30ep"}
    assert len(pd.read_csv("reports/budget/budget_comparisons.csv")) == 4
    assert Path("reports/budget/budget.md").read_text().startswith("Budget points:")
    for figure in ("accuracy_vs_budget.png", "paired_differences.png"):
        with Image.open(f"plots/budget/{figure}") as image:
            assert image.format == "PNG" and min(image.size) > 300


def test_an_aggregate_summary_is_a_budget_point(fake_study: Path) -> None:  # noqa: F811 (fixture)
    run_stage("aggregate")
    summary = json.loads(Path("metrics/summary.json").read_text())
    folder = fake_study / "metrics/budgets"
    folder.mkdir()
    shutil.copy("metrics/summary.json", folder / f"{summary['conditions']['epochs']}ep.json")
    points = load_budget_points(folder)
    table, comparisons = budget_table(points), budget_comparisons(points)
    assert set(table["model"]) == set(summary["models"])
    assert set(comparisons["verdict"]) <= {"better", "worse", "equivalent", "inconclusive"}
    assert (table["train_flops"] > 0).all()
