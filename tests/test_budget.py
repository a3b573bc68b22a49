"""Accuracy against training budget, on synthetic budget points (per-fold folders and summary-only files):
loading and checks, the tables, the training-FLOPs arithmetic, the pairs judged again in their fixed
families, the interaction test and the convergence check by hand, the stage end to end, and a real
aggregate summary as a point."""

from __future__ import annotations

import json
import math
import runpy
import shutil
from pathlib import Path

import numpy as np
import pandas as pd
import pytest
import yaml
from PIL import Image
from scipy import stats

from cnnlstm.core.errors import CnnLstmError
from cnnlstm.core.params import Params, parse_params
from cnnlstm.study.analysis import judge_families
from cnnlstm.study.budget import budget_comparisons, budget_markdown, budget_table, primary_table
from cnnlstm.study.budget_points import load_budget_points
from cnnlstm.study.conditions import recipe
from cnnlstm.study.convergence import checked_budgets, convergence_table, interaction_table
from cnnlstm.study.pairs import comparison_pairs
from cnnlstm.study.precision_check import precision_table
from cnnlstm.study.runs import FoldSizes
from test_evaluation import REPO, fake_study, fake_study_template, run_stage  # noqa: F401 (fixtures)

FLOPS = {"cnn32": 1_000_000, "cnn32_lstm": 2_000_000}
SHA = "a" * 64
FOLDS = 4
# n_test / n_train: 1/9 for the training part, 1/3 for the fitted images (exaggerated, so the two differ)
SIZES = {"heldout": 100, "train": 900}
FITTED = 300


def conditions(epochs: int, augment: bool = True, device: str = "cuda", precision: str = "bf16") -> dict:
    return {
        "epochs": epochs, "optimizer": "adamw", "lr": 0.006, "schedule": "onecycle", "batch_size": 512,
        "weight_decay": 0.01, "label_smoothing": 0.1,
        "augment": {"crop_padding": 2 if augment else 0, "hflip": augment, "erasing": 0.25 if augment else 0.0},
        "train_device": device, "train_precision": precision, "train_images": 51_300,
        "eval_device": device, "eval_precision": "fp32",
    }


def summary(epochs: int, accuracy: dict[str, float], verdict: str, **kwargs) -> dict:
    """A budget point as the aggregate stage writes it, reduced to what the budget tables read."""
    diff = accuracy["cnn32_lstm"] - accuracy["cnn32"]
    stats_ = {"mean_diff": diff, "ci95_low": diff - 0.002, "ci95_high": diff + 0.002, "p_ttest": 0.01,
              "p_ttest_holm": 0.02, "p_tost_holm": 0.5, "wins": 8, "folds": 10, "verdict": verdict}
    return {
        "folds": FOLDS, "folds_sha256": SHA, "fold_sizes": SIZES, "conditions": conditions(epochs, **kwargs),
        "equivalence_margin": 0.005,
        "models": {m: {"cv": {"accuracy": {"mean": a, "std": 0.004}}, "test_ensemble": {"accuracy": a - 0.001},
                       "flops_per_image": FLOPS[m]} for m, a in accuracy.items()},
        "comparisons": {"lstm_vs_cnn": {"cnn32_lstm-vs-cnn32": {"model": "cnn32_lstm", "baseline": "cnn32",
                                                                "accuracy": stats_}}},
    }


def write_point(folder: Path, epochs: int, per_fold: dict[str, list[float]], **kwargs) -> Path:
    """<point>/ as scripts/keep_budget.sh writes it, reduced to what the stage reads."""
    point = summary(epochs, {m: float(np.mean(v)) for m, v in per_fold.items()}, "worse", **kwargs)
    folder.mkdir(parents=True)
    (folder / "summary.json").write_text(json.dumps(point))
    for model, values in per_fold.items():
        for fold, value in enumerate(values):
            run = folder / "runs" / model / f"fold{fold}.json"
            log = folder / "train" / model / f"fold{fold}.json"
            run.parent.mkdir(parents=True, exist_ok=True)
            log.parent.mkdir(parents=True, exist_ok=True)
            run.write_text(json.dumps({"folds_sha256": SHA, "heldout": {"accuracy": value}}))
            amp = {"bf16": "bfloat16"}.get(kwargs.get("precision", "bf16"), kwargs.get("precision"))
            log.write_text(json.dumps({"model": model, "fold": fold, "epochs": epochs, "amp": amp,
                                       "train_images": FITTED}))
    return folder


# Per-fold held-out accuracy at two budgets; the LSTM's deficit shrinks from 2 to 5 epochs.
CNN_2 = [0.910, 0.912, 0.908, 0.914]
LSTM_2 = [0.905, 0.906, 0.904, 0.906]
CNN_5 = [0.920, 0.921, 0.919, 0.922]
LSTM_5 = [0.919, 0.918, 0.918, 0.920]


@pytest.fixture
def params(base_params: dict) -> Params:
    return parse_params(base_params)


@pytest.fixture
def budgets(tmp_path: Path, base_params: dict) -> Path:
    folder = tmp_path / "metrics/budgets"
    write_point(folder / "2ep-cpu", 2, {"cnn32": CNN_2, "cnn32_lstm": LSTM_2}, augment=False, device="cpu")
    write_point(folder / "5ep-cpu", 5, {"cnn32": CNN_5, "cnn32_lstm": LSTM_5}, augment=False, device="cpu")
    (folder / "10ep.json").write_text(json.dumps(summary(10, {"cnn32": 0.928, "cnn32_lstm": 0.925}, "worse")))
    (tmp_path / "params.yaml").write_text(yaml.safe_dump(base_params))
    return folder


def test_points_are_ordered_by_epochs_and_know_their_kind(budgets: Path) -> None:
    points = load_budget_points(budgets)
    assert list(points) == ["2ep-cpu", "5ep-cpu", "10ep"]
    assert points["10ep"].runs is None and points["2ep-cpu"].runs is not None
    np.testing.assert_allclose(points["2ep-cpu"].runs.complete()["cnn32"], CNN_2)
    assert points["2ep-cpu"].runs.sizes() == FoldSizes(heldout=100, training_part=900, fitted=FITTED)


@pytest.mark.parametrize(("name", "content", "message"), [
    ("5epochs.json", summary(5, {"cnn32": 0.9, "cnn32_lstm": 0.9}, "worse"), "are named <epochs>ep"),
    ("7ep.json", summary(5, {"cnn32": 0.9, "cnn32_lstm": 0.9}, "worse"), "named 7 epochs but its runs trained for [5]"),
    ("5ep.json", {"models": {}}, "has no `conditions`"),
])
def test_a_misfiled_point_is_a_one_line_error(tmp_path: Path, name: str, content: dict, message: str) -> None:
    (tmp_path / name).write_text(json.dumps(content))
    with pytest.raises(CnnLstmError, match=r"^[^\n]*$") as caught:
        load_budget_points(tmp_path)
    assert message in str(caught.value)


def test_a_point_kept_twice_or_of_mixed_precision_is_refused(budgets: Path) -> None:
    (budgets / "5ep-cpu.json").write_text((budgets / "5ep-cpu/summary.json").read_text())
    with pytest.raises(CnnLstmError, match="kept twice"):
        load_budget_points(budgets)
    (budgets / "5ep-cpu.json").unlink()
    log = budgets / "5ep-cpu/train/cnn32_lstm/fold3.json"
    log.write_text(json.dumps({**json.loads(log.read_text()), "amp": "float32"}))
    with pytest.raises(CnnLstmError, match=r"5ep-cpu: runs of different recipe or precision, `amp`: "
                                           r"'bfloat16' in cnn32 fold 0 \(\+6 more\); 'float32' in cnn32_lstm fold 3"):
        load_budget_points(budgets)


def test_no_points_is_an_error(tmp_path: Path) -> None:
    with pytest.raises(CnnLstmError, match="no budget points"):
        load_budget_points(tmp_path)


def test_table_holds_accuracy_and_training_flops(budgets: Path) -> None:
    table = budget_table(load_budget_points(budgets)).set_index(["point", "model"])
    row = table.loc[("10ep", "cnn32_lstm")]
    assert (row["epochs"], row["accuracy_mean"], row["accuracy_std"]) == (10, 0.925, 0.004)
    assert row["train_flops"] == 3 * 2_000_000 * 51_300 * 10  # forward + backward ~ 3 forwards, per fold
    assert row["test_accuracy"] == pytest.approx(0.924) and not row["per_fold_files"]
    # the CPU points were trained another way: they are not on the same curve
    assert table.loc[("2ep-cpu", "cnn32"), "recipe"] != table.loc[("10ep", "cnn32"), "recipe"]
    assert table.loc[("2ep-cpu", "cnn32"), "recipe"] == table.loc[("5ep-cpu", "cnn32"), "recipe"]
    assert "no augmentation" in recipe(conditions(2, augment=False)) and "cpu" in recipe(conditions(2, device="cpu"))


def test_pairs_are_judged_again_in_their_fixed_family(budgets: Path, params: Params) -> None:
    points = load_budget_points(budgets)
    rows = budget_comparisons(points, params)
    at_2 = rows[rows["point"] == "2ep-cpu"].set_index("model")
    # every pair of every question's fixed family (from all configured models) has a row at each point
    assert len(at_2) == len(comparison_pairs(params))
    lstm = rows[(rows["point"] == "2ep-cpu") & (rows["question"] == "lstm_vs_cnn")].set_index("model")
    assert lstm.loc["cnn32_lstm", "family"] == 6 and (lstm.drop("cnn32_lstm")["verdict"] == "not run").all()
    # by hand: d = LSTM_2 - CNN_2, n_train = the fitted 300 images, n_test 100, Holm over 6 with five p = 1
    d = np.array(LSTM_2) - np.array(CNN_2)
    t = d.mean() / math.sqrt((1 / 4 + 100 / 300) * d.var(ddof=1))
    p = 2 * stats.t.sf(abs(t), df=3)
    assert lstm.loc["cnn32_lstm", "p_ttest"] == pytest.approx(p, abs=1e-6)
    assert lstm.loc["cnn32_lstm", "p_ttest_holm"] == pytest.approx(min(1.0, 6 * p), abs=1e-5)  # of the rounded raw p
    judged, _ = judge_families(comparison_pairs(params), {m: {"accuracy": np.array(v)} for m, v in
                                                          (("cnn32", CNN_2), ("cnn32_lstm", LSTM_2))},
                               FoldSizes(100, 900, FITTED), params.analysis, params.equivalence_margin, ("accuracy",))
    assert lstm.loc["cnn32_lstm", "verdict"] == judged["lstm_vs_cnn"]["cnn32_lstm-vs-cnn32"]["accuracy"]["verdict"]
    summary_only = rows[rows["point"] == "10ep"]
    assert list(summary_only["verdict"]) == ["summary only"]  # shown as recorded, never judged again


def test_primary_pair_is_unadjusted_at_each_point_with_per_fold_files(budgets: Path, params: Params) -> None:
    primary = primary_table(load_budget_points(budgets), params).set_index("point")
    assert list(primary.index) == ["2ep-cpu", "5ep-cpu"]  # not the summary-only point
    rows = budget_comparisons(load_budget_points(budgets), params)
    judged = rows[(rows["point"] == "2ep-cpu") & (rows["model"] == "cnn32_lstm") & (rows["baseline"] == "cnn32")]
    assert primary.loc["2ep-cpu", "p_ttest"] == judged["p_ttest"].iloc[0]  # the raw p, not the family's Holm p
    assert not primary.loc["2ep-cpu", "adjusted"] and primary.loc["2ep-cpu", "question"] == "lstm_vs_cnn"


def test_interaction_test_by_hand(budgets: Path, params: Params) -> None:
    table = interaction_table(load_budget_points(budgets), params)
    row = table.set_index(["question", "model", "baseline"]).loc[("lstm_vs_cnn", "cnn32_lstm", "cnn32")]
    change = (np.array(LSTM_5) - CNN_5) - (np.array(LSTM_2) - CNN_2)  # per fold, same folds
    se_fitted = math.sqrt((1 / 4 + 100 / 300) * change.var(ddof=1))
    se_part = math.sqrt((1 / 4 + 100 / 900) * change.var(ddof=1))
    assert row["change"] == pytest.approx(change.mean(), abs=1e-6) and row["same_recipe"]
    assert row["p_ttest"] == pytest.approx(2 * stats.t.sf(abs(change.mean() / se_fitted), 3), abs=1e-6)
    assert row["p_ttest_alternative"] == pytest.approx(2 * stats.t.sf(abs(change.mean() / se_part), 3), abs=1e-6)
    half = stats.t.ppf(0.975, 3) * se_fitted
    assert (row["ci95_low"], row["ci95_high"]) == pytest.approx((change.mean() - half, change.mean() + half), abs=1e-6)
    assert set(table["point_b"]) == {"5ep-cpu"}  # the summary-only point takes no part


def test_convergence_check_by_hand(tmp_path: Path, params: Params) -> None:
    epochs, short = params.train.epochs, params.analysis.convergence_epochs
    folder = tmp_path / "budgets"
    write_point(folder / f"{short}ep", short, {"cnn32": CNN_5, "cnn32_lstm": LSTM_2})
    write_point(folder / f"{epochs}ep", epochs, {"cnn32": [a + 0.001 for a in CNN_5], "cnn32_lstm": LSTM_5})
    table = convergence_table(load_budget_points(folder), params).set_index("model")
    assert list(table.index) == ["cnn32", "cnn32_lstm"]  # main models present at both points
    assert table.loc["cnn32", "gain"] == pytest.approx(0.001, abs=1e-9)
    assert table.loc["cnn32", "converged"] and table.loc["cnn32", "tolerance"] == 0.0025
    gain = np.array(LSTM_5) - LSTM_2
    assert table.loc["cnn32_lstm", "gain"] == pytest.approx(gain.mean(), abs=1e-6)  # 1.35 pp
    assert not table.loc["cnn32_lstm", "converged"]
    assert convergence_table({}, params).empty


def test_the_extension_is_checked_against_the_studys_budget(tmp_path: Path, params: Params) -> None:
    """Amendment 1: twice train.epochs, checked from train.epochs; never from the shorter point directly."""
    epochs, short = params.train.epochs, params.analysis.convergence_epochs
    assert checked_budgets(params) == [(short, epochs), (epochs, 2 * epochs)]
    folder = tmp_path / "budgets"
    write_point(folder / f"{short}ep", short, {"cnn32": CNN_2, "cnn32_lstm": LSTM_2})
    write_point(folder / f"{epochs}ep", epochs, {"cnn32": CNN_5, "cnn32_lstm": LSTM_5})
    write_point(folder / f"{2 * epochs}ep", 2 * epochs, {"cnn32": [a + 0.002 for a in CNN_5],
                                                          "cnn32_lstm": [a + 0.004 for a in LSTM_5]})
    points = load_budget_points(folder)
    table = convergence_table(points, params)
    assert list(zip(table["model"], table["epochs_short"], table["epochs_long"])) == [
        ("cnn32", short, epochs), ("cnn32_lstm", short, epochs),
        ("cnn32", epochs, 2 * epochs), ("cnn32_lstm", epochs, 2 * epochs)]
    extended = table.iloc[2:].set_index("model")
    assert extended.loc["cnn32", "gain"] == pytest.approx(0.002, abs=1e-9) and extended.loc["cnn32", "converged"]
    assert extended.loc["cnn32_lstm", "gain"] == pytest.approx(0.004, abs=1e-9)  # above the 0.25 pp tolerance
    assert not extended.loc["cnn32_lstm", "converged"]
    markdown = budget_markdown(budget_table(points), budget_comparisons(points, params), primary_table(points, params),
                               interaction_table(points, params), table, precision_table(points, params), params)
    assert f"{epochs}ep → {2 * epochs}ep" in markdown and "not run yet" not in markdown


def test_precision_check_by_hand(tmp_path: Path, params: Params) -> None:
    """Amendment 2: the pair's per-fold difference in fp32 against bf16 at one budget; TOST within the margin."""
    folder = tmp_path / "budgets"
    write_point(folder / "5ep-cpu", 5, {"cnn32": CNN_5, "cnn32_lstm": LSTM_5}, device="cpu")
    close = {"cnn32": [a + d for a, d in zip(CNN_5, [0.0005, 0.0, -0.0005, 0.0002])],
             "cnn32_lstm": [a + d for a, d in zip(LSTM_5, [0.0007, 0.0001, -0.0004, 0.0001])]}
    write_point(folder / "5ep-fp32-cpu", 5, close, device="cpu", precision="fp32")
    write_point(folder / "5ep-fp32-gpu", 5, close, device="cuda", precision="fp32")  # another device: not paired
    write_point(folder / "2ep-fp32-cpu", 2, close, device="cpu", precision="fp32")  # another budget: not paired
    table = precision_table(load_budget_points(folder), params)
    assert len(table) == 1
    row = table.iloc[0]
    assert (row["point_a"], row["point_b"], row["precision_a"], row["precision_b"]) == (
        "5ep-cpu", "5ep-fp32-cpu", "bf16", "fp32")
    change = (np.array(close["cnn32_lstm"]) - close["cnn32"]) - (np.array(LSTM_5) - CNN_5)
    se = math.sqrt((1 / 4 + 100 / 300) * change.var(ddof=1))
    assert row["change"] == pytest.approx(change.mean(), abs=1e-6)
    assert row["model_change"] == pytest.approx(np.mean(np.array(close["cnn32_lstm"]) - LSTM_5), abs=1e-6)
    assert row["p_ttest"] == pytest.approx(2 * stats.t.sf(abs(change.mean() / se), 3), abs=1e-6)
    tost = max(stats.t.sf((change.mean() + 0.005) / se, 3), stats.t.cdf((change.mean() - 0.005) / se, 3))
    assert row["p_tost"] == pytest.approx(tost, abs=1e-6) and row["p_tost"] < 0.05 and row["immaterial"]

    shutil.rmtree(folder / "5ep-fp32-cpu")  # the hybrid 1 pp better in fp32 on every fold, give or take
    far = {"cnn32": CNN_5, "cnn32_lstm": [a + d for a, d in zip(LSTM_5, [0.012, 0.008, 0.011, 0.009])]}
    write_point(folder / "5ep-fp32-cpu", 5, far, device="cpu", precision="fp32")
    row = precision_table(load_budget_points(folder), params).iloc[0]
    assert row["change"] == pytest.approx(0.01, abs=1e-6) and not row["immaterial"]


def test_markdown_shows_every_section(budgets: Path, params: Params) -> None:
    log = budgets / "5ep-cpu/train/cnn32/fold0.json"
    log.write_text(json.dumps({**json.loads(log.read_text()), "hardware": "Intel Xeon 8488C"}))
    points = load_budget_points(budgets)
    frames = (budget_table(points), budget_comparisons(points, params), primary_table(points, params),
              interaction_table(points, params), convergence_table(points, params), precision_table(points, params))
    text = budget_markdown(*frames, params)
    header = next(line for line in text.splitlines() if line.startswith("| model"))
    assert [c.strip() for c in header.strip("|").split("|")] == ["model", "2ep-cpu", "5ep-cpu", "10ep"]
    assert "**10ep**: adamw onecycle lr 0.006 batch 512, augmentation: random crop (pad 2), horizontal flip, " \
           "random erasing (p 0.25), bf16 on cuda, hardware: not recorded (summary only: no per-fold files, " \
           "not judged)" in text
    assert "**2ep-cpu**: adamw onecycle lr 0.006 batch 512, no augmentation, bf16 on cpu, hardware: not recorded x 8" in text
    assert "hardware: Intel Xeon 8488C x 1, not recorded x 7" in text  # from the run records
    assert "Holm family of 6 pairs at every point" in text and "-0.30 pp, summary only" in text
    assert "**Primary comparison** (cnn32_lstm vs cnn32" in text and "**Budget x model interaction**" in text
    assert "2ep-cpu → 5ep-cpu" in text and "15 → 30 epochs: not run yet; it needs both points" in text
    assert "30 → 60 epochs: not run yet" in text  # Amendment 1's extension
    assert "**Precision check**" in text and "Not run yet: it needs the primary pair complete at both" in text


def test_budget_stage_writes_tables_and_figure(budgets: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.chdir(budgets.parents[1])
    runpy.run_path(str(REPO / "stages/budget.py"), run_name="__main__")
    frame = pd.read_csv("plots/budget/budget.csv")
    assert set(frame["point"]) == {"2ep-cpu", "5ep-cpu", "10ep"}
    assert len(pd.read_csv("reports/budget/budget_interactions.csv")) == 1  # the one pair of the two models
    assert Path("reports/budget/budget.md").read_text().startswith("Budget points:")
    for figure in ("accuracy_vs_budget.png", "paired_differences.png"):
        with Image.open(f"plots/budget/{figure}") as image:
            assert image.format == "PNG" and min(image.size) > 300


def test_an_aggregate_summary_is_a_budget_point(fake_study: Path) -> None:  # noqa: F811 (fixture)
    run_stage("aggregate")
    summary_ = json.loads(Path("metrics/summary.json").read_text())
    folder = fake_study / "metrics/budgets"
    folder.mkdir()
    shutil.copy("metrics/summary.json", folder / f"{summary_['conditions']['epochs']}ep.json")
    points = load_budget_points(folder)
    table = budget_table(points)
    assert set(table["model"]) == set(summary_["models"])
    assert (table["train_flops"] > 0).all()
    run_stage("budget")  # a study of summary-only points: shown, nothing judged again
    assert set(pd.read_csv("reports/budget/budget_comparisons.csv")["verdict"]) == {"summary only"}
