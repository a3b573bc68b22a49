"""Seed variance, on synthetic seed folders: loading and every check that the copies belong together,
the variance split and the comparisons against direct computations, the stage end to end, and
scripts/keep_seed.sh copying a committed run."""

from __future__ import annotations

import json
import math
import runpy
import shutil
import subprocess
from pathlib import Path

import numpy as np
import pandas as pd
import pytest
import yaml
from PIL import Image

from cnnlstm.core.errors import CnnLstmError
from cnnlstm.core.params import parse_params
from cnnlstm.study.analysis import judge_families
from cnnlstm.study.pairs import comparison_pairs
from cnnlstm.study.runs import FoldSizes
from cnnlstm.study.seed_runs import load_seed_studies, load_seed_study
from cnnlstm.study.seed_variance import SEED_MEAN, comparison_table, model_variance
from cnnlstm.study.stats import variance_components
from test_budget import conditions
from test_evaluation import REPO

SHA = "f" * 64
FOLDS = 4
RNG = np.random.default_rng(7)
# (folds, seeds) held-out accuracy: a fold effect shared by both models, seed noise, and an LSTM offset
FOLD_EFFECT = RNG.normal(0, 0.004, size=(FOLDS, 1))
ACCURACY = {
    "cnn32": 0.91 + FOLD_EFFECT + RNG.normal(0, 0.001, size=(FOLDS, 3)),
    "cnn32_lstm": 0.905 + FOLD_EFFECT + RNG.normal(0, 0.001, size=(FOLDS, 3)),
}
PARAMS = {
    "cv": {"folds": FOLDS, "seed": 1, "fold_ids": list(range(FOLDS)), "subset": 1.0},
    "train": {"seed": 0, "epochs": 2, "lr": 0.003},
    "model": {"name": "cnn32_lstm", "family": "cnn_lstm", "hidden": 128},
    "models": {"cnn32": {"family": "cnn", "hidden": 128}},
}


def summary() -> dict:
    return {
        "conditions": conditions(2, augment=False, device="cpu"), "folds_sha256": SHA, "folds": FOLDS,
        "fold_sizes": {"train": 54_000, "heldout": 6_000}, "equivalence_margin": 0.005,
        "models": {m: {} for m in ACCURACY},
        "comparisons": {"lstm_vs_cnn": {"cnn32_lstm-vs-cnn32": {"model": "cnn32_lstm", "baseline": "cnn32"}}},
    }


def write_seed(point: Path, column: int, seed: int, derived_seed: int | None = None) -> Path:
    """seed<seed>/ as scripts/keep_seed.sh writes it, reduced to what the stage reads."""
    folder = point / f"seed{seed}"
    params = json.loads(json.dumps(PARAMS))
    params["train"]["seed"] = seed
    for model, values in ACCURACY.items():
        (folder / "runs" / model).mkdir(parents=True)
        (folder / "train" / model).mkdir(parents=True)
        for fold in range(FOLDS):
            run = {"folds_sha256": SHA, "heldout": {"accuracy": float(values[fold, column])}}
            (folder / "runs" / model / f"fold{fold}.json").write_text(json.dumps(run))
            log = {"seed": derived_seed if derived_seed is not None else 1000 * seed + fold, "train_images": 51_300,
                   "model": model, "fold": fold, "amp": "bfloat16"}
            (folder / "train" / model / f"fold{fold}.json").write_text(json.dumps(log))
    (folder / "params.yaml").write_text(yaml.safe_dump(params))
    (folder / "summary.json").write_text(json.dumps(summary()))
    return folder


@pytest.fixture
def point(tmp_path: Path) -> Path:
    folder = tmp_path / "metrics/seeds/2ep-cpu"
    for column, seed in enumerate((0, 1, 2)):
        write_seed(folder, column, seed)
    return folder


def test_runs_load_as_folds_by_seeds(point: Path) -> None:
    study = load_seed_study(point)
    assert study.seeds == (0, 1, 2) and study.folds == tuple(range(FOLDS))
    for model, values in ACCURACY.items():
        np.testing.assert_allclose(study.heldout[model], values)
    assert study.sizes == FoldSizes(heldout=6_000, training_part=54_000, fitted=51_300)


def test_model_variance_is_the_anova_split(point: Path) -> None:
    row = model_variance(load_seed_study(point)).set_index("model").loc["cnn32"]
    parts = variance_components(ACCURACY["cnn32"])
    assert row["accuracy_mean"] == pytest.approx(ACCURACY["cnn32"].mean(), abs=1e-6)
    assert row["fold_sd"] == pytest.approx(math.sqrt(parts.fold), abs=1e-6)
    assert row["seed_sd"] == pytest.approx(math.sqrt(parts.seed), abs=1e-6)
    assert row["fold_sd"] > row["seed_sd"]  # the synthetic fold effect is 4x the seed noise


def test_comparisons_at_each_seed_and_on_the_seed_means(point: Path, base_params: dict) -> None:
    study = load_seed_study(point)
    params = parse_params(base_params)
    table = comparison_table(study, params)
    assert list(table["seed"]) == ["0", "1", "2", SEED_MEAN]
    model, baseline = ACCURACY["cnn32_lstm"], ACCURACY["cnn32"]
    for column, seed in enumerate(("0", "1", "2")):
        row = table[table["seed"] == seed].iloc[0]
        assert row["mean_diff"] == pytest.approx((model[:, column] - baseline[:, column]).mean(), abs=1e-6)
    # the seed means judged with the pre-registered analysis: n_train 51,300 (fitted), the fixed family of 6
    judged, families = judge_families(comparison_pairs(params), {"cnn32_lstm": {"accuracy": model.mean(axis=1)},
                                                                 "cnn32": {"accuracy": baseline.mean(axis=1)}},
                                      study.sizes, params.analysis, 0.005, ("accuracy",))
    expected = judged["lstm_vs_cnn"]["cnn32_lstm-vs-cnn32"]["accuracy"]
    row = table[table["seed"] == SEED_MEAN].iloc[0]
    assert row["mean_diff"] == expected["mean_diff"] and row["verdict"] == expected["verdict"]
    assert row["p_ttest_holm"] == expected["p_ttest_holm"] and row["family"] == 6 == families["lstm_vs_cnn"]["pairs"]
    assert row["diff_seed_sd"] == pytest.approx(math.sqrt(variance_components(model - baseline).seed), abs=1e-6)


def test_seeds_stage_writes_tables_and_figure(point: Path, monkeypatch: pytest.MonkeyPatch, base_params: dict) -> None:
    monkeypatch.chdir(point.parents[2])
    Path("params.yaml").write_text(yaml.safe_dump(base_params))
    runpy.run_path(str(REPO / "stages/seeds.py"), run_name="__main__")
    models = pd.read_csv("reports/seeds/seed_models.csv")
    assert set(models["model"]) == set(ACCURACY) and (models["seeds"] == 3).all()
    markdown = Path("reports/seeds/seeds.md").read_text()
    assert markdown.startswith("### 2ep-cpu: 3 training seeds (0, 1, 2) x 4 folds, at a 2-epoch budget")
    assert "| cnn32_lstm vs cnn32 |" in markdown and "mean of seeds" in markdown
    with Image.open("plots/seeds/2ep-cpu.png") as image:
        assert image.format == "PNG" and min(image.size) > 300


def _break(point: Path, how: str) -> str:
    """Damage the seed folders one way; returns the message expected."""
    seed1 = point / "seed1"
    if how == "one seed":
        shutil.rmtree(point / "seed1")
        shutil.rmtree(point / "seed2")
        return "1 seed folder(s); seed variance needs at least 2"
    if how == "misnamed":
        seed1.rename(point / "seed7")
        return "seed7/params.yaml: train.seed is 1, the folder says 7"
    if how == "same run twice":
        shutil.rmtree(seed1)
        write_seed(point, 1, 1, derived_seed=0)  # the derived seed of seed0's fold 0
        return "cnn32 fold 0: two seed folders hold runs trained with the same seed"
    if how == "other recipe":
        params = yaml.safe_load((seed1 / "params.yaml").read_text())
        params["train"]["lr"] = 0.01
        (seed1 / "params.yaml").write_text(yaml.safe_dump(params))
        return "seed1/params.yaml: train.lr differs from seed0's"
    if how == "other model config":
        params = yaml.safe_load((seed1 / "params.yaml").read_text())
        params["models"]["cnn32"]["hidden"] = 64
        (seed1 / "params.yaml").write_text(yaml.safe_dump(params))
        return "seed1/params.yaml: model cnn32's config differs from seed0's"
    if how == "other precision":
        log = seed1 / "train/cnn32/fold2.json"
        log.write_text(json.dumps({**json.loads(log.read_text()), "amp": "float32"}))
        return "2ep-cpu: runs of different recipe or precision, `amp`: 'bfloat16' in cnn32 fold 0 (+22 more)"
    if how == "missing fold":
        (seed1 / "runs/cnn32/fold3.json").unlink()
        return "seed1/runs/cnn32: folds [0, 1, 2], seed0 has [0, 1, 2, 3]"
    if how == "other folds":
        run = json.loads((seed1 / "runs/cnn32/fold2.json").read_text())
        (seed1 / "runs/cnn32/fold2.json").write_text(json.dumps({**run, "folds_sha256": "0" * 64}))
        return "seed1/runs/cnn32/fold2.json: made with folds 000000000000"
    raise AssertionError(how)


@pytest.mark.parametrize("how", ["one seed", "misnamed", "same run twice", "other recipe", "other model config",
                                 "other precision", "missing fold", "other folds"])
def test_seed_folders_that_do_not_belong_together_are_one_line_errors(point: Path, how: str) -> None:
    message = _break(point, how)
    with pytest.raises(CnnLstmError, match=r"^[^\n]*$") as caught:
        load_seed_study(point)
    assert message in str(caught.value)


def test_no_seed_points_is_an_error(tmp_path: Path) -> None:
    with pytest.raises(CnnLstmError, match="no seed points"):
        load_seed_studies(tmp_path / "metrics/seeds")


def test_keep_seed_copies_a_committed_run_unchanged(tmp_path: Path) -> None:
    """The script run on a git revision and on a DVC experiment's name (one ref under refs/exps). By default
    it keeps the models the run studied: metrics/runs/ also holds files of models the run left alone."""
    repo = tmp_path / "repo"
    files = {
        "params.yaml": "train:\n  seed: 3\n", "metrics/summary.json": '{"models": {"cnn32": {}}}',
        "metrics/runs/cnn32/fold0.json": '{"fold": 0}', "metrics/runs/cnn32/fold1.json": '{"fold": 1}',
        "metrics/runs/lstm/fold0.json": '{"fold": 0}',
        "logs/train/cnn32/fold0/run.json": '{"seed": 10}', "logs/train/cnn32/fold1/run.json": '{"seed": 11}',
    }
    for name, text in files.items():
        (repo / name).parent.mkdir(parents=True, exist_ok=True)
        (repo / name).write_text(text)
    git = ["git", "-c", "user.name=t", "-c", "user.email=t@t"]
    subprocess.run(["git", "init", "-q", str(repo)], check=True)
    subprocess.run([*git, "-C", str(repo), "add", "-A"], check=True)
    subprocess.run([*git, "-C", str(repo), "commit", "-qm", "run"], check=True)
    script = str(REPO / "scripts/keep_seed.sh")
    subprocess.run(["bash", script, "HEAD", "2ep-cpu"], cwd=repo, check=True, capture_output=True)
    kept = repo / "metrics/seeds/2ep-cpu/seed3"
    assert (kept / "runs/cnn32/fold1.json").read_text() == files["metrics/runs/cnn32/fold1.json"]
    assert (kept / "train/cnn32/fold0.json").read_text() == files["logs/train/cnn32/fold0/run.json"]
    assert (kept / "params.yaml").read_text() == files["params.yaml"] and not (kept / "runs/lstm").exists()
    failed = subprocess.run(["bash", script, "no-such-run", "2ep-cpu"], cwd=repo, capture_output=True, text=True)
    assert failed.returncode == 1 and "no-such-run: no DVC experiment or git revision" in failed.stderr
    for ref in ("refs/exps/a1/b1/once", "refs/exps/a1/b1/twice", "refs/exps/a2/b2/twice"):  # as DVC names them
        subprocess.run(["git", "-C", str(repo), "update-ref", ref, "HEAD"], check=True)
    subprocess.run(["bash", script, "once", "9ep"], cwd=repo, check=True, capture_output=True)
    assert (repo / "metrics/seeds/9ep/seed3/runs/cnn32/fold0.json").is_file()
    twice = subprocess.run(["bash", script, "twice", "9ep"], cwd=repo, capture_output=True, text=True)
    assert twice.returncode == 1 and twice.stderr.strip() == "error: twice: several experiments of that name"
    missing = subprocess.run(["bash", script, "HEAD", "5ep", "cnn16"], cwd=repo, capture_output=True, text=True)
    assert missing.returncode == 1 and not (repo / "metrics/seeds/5ep").exists()
    # a budget point is kept the same way, in metrics/budgets/<point>/
    subprocess.run(["bash", str(REPO / "scripts/keep_budget.sh"), "HEAD", "2ep"], cwd=repo, check=True, capture_output=True)
    budget = repo / "metrics/budgets/2ep"
    assert (budget / "runs/cnn32/fold1.json").read_text() == files["metrics/runs/cnn32/fold1.json"]
    assert (budget / "summary.json").read_text() == files["metrics/summary.json"] and not (budget / "runs/lstm").exists()


def test_seed_zero_is_judged_with_every_model_of_its_folder(point: Path, base_params: dict) -> None:
    """Seed 0's folder may hold the whole study: its column is then the study's own analysis."""
    extra = point / "seed0/runs/cnn32_bilstm"
    shutil.copytree(point / "seed0/runs/cnn32", extra)
    shutil.copytree(point / "seed0/train/cnn32", point / "seed0/train/cnn32_bilstm")
    for fold in range(FOLDS):  # the BiLSTM clearly above the CNN: the smallest p of the family
        run = json.loads((extra / f"fold{fold}.json").read_text())
        run["heldout"]["accuracy"] += 0.02 + 0.0001 * fold
        (extra / f"fold{fold}.json").write_text(json.dumps(run))
    study = load_seed_study(point)
    assert set(study.heldout) == {"cnn32", "cnn32_lstm"} and set(study.alone[0]) == {"cnn32", "cnn32_lstm", "cnn32_bilstm"}
    params = parse_params(base_params)
    table = comparison_table(study, params).set_index(["question", "model", "seed"])
    judged, _ = judge_families(comparison_pairs(params), {m: {"accuracy": v} for m, v in study.alone[0].items()},
                               study.sizes, params.analysis, 0.005, ("accuracy",))
    assert table.loc[("lstm_vs_cnn", "cnn32_lstm", "0"), "p_ttest_holm"] == \
        judged["lstm_vs_cnn"]["cnn32_lstm-vs-cnn32"]["accuracy"]["p_ttest_holm"]
    assert ("lstm_vs_cnn", "cnn32_bilstm", "0") not in table.index  # shown only where every seed has it
    alone_1 = table.loc[("lstm_vs_cnn", "cnn32_lstm", "0"), "p_ttest_holm"]
    shutil.rmtree(extra)
    without = comparison_table(load_seed_study(point), params).set_index(["question", "model", "seed"])
    # Holm over 6 either way; with the BiLSTM's p ranked first the LSTM's p is multiplied by 5, not 6
    raw = without.loc[("lstm_vs_cnn", "cnn32_lstm", "0"), "p_ttest_holm"] / 6
    assert alone_1 == pytest.approx(5 * raw, abs=1e-5)
