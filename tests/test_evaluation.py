"""The aggregate stage over synthetic predictions files: summary, tables, and every bad input."""

from __future__ import annotations

import json
import runpy
import shutil
import sys
from pathlib import Path

import numpy as np
import pytest
import yaml

from cnnlstm.core.atomic import write_json
from cnnlstm.data.folds import file_sha256, save_folds
from cnnlstm.evaluation.metrics import classification_metrics
from cnnlstm.evaluation.predictions import Predictions, load_predictions, save_predictions

REPO = Path(__file__).resolve().parents[1]
FOLDS = 3
STUDY = ["cnn16", "cnn32", "lstm", "cnn16_lstm", "cnn32_bilstm", "cnn32_wide"]
SKILL = {"cnn16": 2.0, "cnn32": 2.2, "lstm": 1.2, "cnn16_lstm": 2.4, "cnn32_bilstm": 2.6, "cnn32_lstm": 2.5,
         "cnn32_wide": 2.3}
N_TRAIN, N_TEST = 90, 50
FITTED = 57  # of each fold's training part of 60 images, 95% are fitted on


def fake_probs(labels: np.ndarray, skill: float, rng: np.random.Generator) -> np.ndarray:
    """Softmax of noise plus `skill` on the true class: higher skill, higher accuracy."""
    logits = rng.normal(size=(len(labels), 10))
    logits[np.arange(len(labels)), labels] += skill
    probs = np.exp(logits - logits.max(axis=1, keepdims=True))
    return (probs / probs.sum(axis=1, keepdims=True)).astype(np.float32)


def write_fake_run(root: Path, model: str, fold: int, assignment: np.ndarray, sha: str, epochs: int) -> Predictions:
    """results/, metrics/runs/, metrics/timings/, a dvclive log and run.json of one fake run of `epochs`."""
    rng = np.random.default_rng([fold, *map(ord, model)])
    train_labels, test_labels = np.arange(N_TRAIN) % 10, np.arange(N_TEST) % 10
    heldout = np.flatnonzero(assignment == fold)
    tsne = np.arange(N_TEST)
    predictions = Predictions(
        heldout_index=heldout, heldout_labels=train_labels[heldout],
        heldout_probs=fake_probs(train_labels[heldout], SKILL[model], rng),
        test_index=np.arange(N_TEST), test_labels=test_labels,
        test_probs=fake_probs(test_labels, SKILL[model], rng),
        tsne_index=tsne, tsne_labels=test_labels[tsne],
        tsne_features=(rng.normal(size=(len(tsne), 8)) + test_labels[tsne, None]).astype(np.float32),
        folds_sha256=sha,
    )
    run = f"{model}/fold{fold}"
    save_predictions(root / f"results/{run}.npz", predictions)
    write_json(root / f"metrics/runs/{run}.json", {
        "model": model, "fold": fold, "folds_sha256": sha,
        "heldout": classification_metrics(predictions.heldout_labels, predictions.heldout_probs),
        "test": classification_metrics(predictions.test_labels, predictions.test_probs),
    })
    write_json(root / f"metrics/timings/{run}.json", {
        "model": model, "fold": fold, "device": "cpu", "precision": "fp32", "train_seconds": 10.0 + SKILL[model],
        "inference_images_per_s": 1000.0, "latency_ms": 1.0,
    })
    write_json(root / f"logs/train/{run}/run.json", {
        "model": model, "fold": fold, "folds_sha256": sha, "epochs": epochs, "device": "cpu", "amp": "fp32",
        "train_images": FITTED,  # the training part less its epoch-selection slice
    })
    log = root / f"logs/train/{run}/plots/metrics/val/acc.tsv"
    log.parent.mkdir(parents=True, exist_ok=True)
    log.write_text("step\tacc\n" + "".join(f"{e}\t{0.5 + 0.1 * e + 0.01 * fold}\n" for e in range(3)))
    return predictions


def write_fake_study(root: Path, base_params: dict, study: list[str] = STUDY) -> Path:
    """A repository folder with params.yaml, data/folds.npy and every run's outputs."""
    params = dict(base_params, cv={**base_params["cv"], "folds": FOLDS, "fold_ids": list(range(FOLDS))},
                  study={**base_params["study"], "models": study})
    (root / "params.yaml").write_text(yaml.safe_dump(params))
    assignment = (np.arange(N_TRAIN) // 10) % FOLDS  # 3 images of each class per fold
    save_folds(root / "data/folds.npy", assignment.astype(np.int8))
    sha = file_sha256(root / "data/folds.npy")
    for model in [*study, params["model"]["name"]]:
        for fold in range(FOLDS):
            write_fake_run(root, model, fold, assignment, sha, params["train"]["epochs"])
    return root


def run_stage(name: str, *args: str) -> None:
    """stages/<name>.py run in this process with `args` as its command line (not pytest's)."""
    argv = sys.argv
    sys.argv = [f"{name}.py", *args]
    try:
        runpy.run_path(str(REPO / "stages" / f"{name}.py"), run_name="__main__")
    finally:
        sys.argv = argv


@pytest.fixture(scope="module")
def fake_study_template(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """Written once per module (it takes seconds); each test gets its own copy."""
    base_params = yaml.safe_load((REPO / "params.yaml").read_text())
    return write_fake_study(tmp_path_factory.mktemp("template"), base_params)


@pytest.fixture
def fake_study(fake_study_template: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    root = tmp_path / "repo"
    shutil.copytree(fake_study_template, root)
    monkeypatch.chdir(root)
    return root


def test_aggregate_writes_summary_with_every_question(fake_study: Path) -> None:
    run_stage("aggregate")
    summary = json.loads(Path("metrics/summary.json").read_text())
    models = [*STUDY, "cnn32_lstm"]
    assert set(summary["models"]) == set(models)
    assert summary["folds_sha256"] == file_sha256("data/folds.npy")
    assert summary["best_model"] == max(models, key=lambda m: summary["models"][m]["cv"]["accuracy"]["mean"])
    for entry in summary["models"].values():
        assert {"accuracy", "f1_macro", "f1_micro", "auroc_macro", "log_loss"} <= set(entry["cv"])
        assert set(entry["cv"]["accuracy"]) == {"mean", "std"}
        assert isinstance(entry["params"], int) and isinstance(entry["flops_per_image"], int)
    comparisons = summary["comparisons"]
    assert set(comparisons["lstm_vs_cnn"]) == {"cnn16_lstm-vs-cnn16", "cnn32_bilstm-vs-cnn32", "cnn32_lstm-vs-cnn32"}
    assert set(comparisons["param_matched"]) == {"cnn32_bilstm-vs-cnn32_wide"}
    matched = comparisons["param_matched"]["cnn32_bilstm-vs-cnn32_wide"]["accuracy"]
    assert matched["p_ttest_holm"] == matched["p_ttest"]  # a Holm family of its own: one pair, nothing to adjust
    assert set(comparisons["bidirectional"]) == {"cnn32_bilstm-vs-cnn32_lstm"}
    assert set(comparisons["vs_row_lstm"]) == {f"{m}-vs-lstm" for m in models if m != "lstm"}
    stats = comparisons["lstm_vs_cnn"]["cnn32_lstm-vs-cnn32"]["accuracy"]
    assert stats["ci95_low"] <= stats["mean_diff"] <= stats["ci95_high"]
    assert 0 <= stats["p_ttest"] <= 1 and 0 <= stats["p_wilcoxon"] <= 1
    for name in ("models", "comparisons", "per_class"):
        assert Path(f"reports/tables/{name}.csv").stat().st_size > 0
        assert Path(f"reports/tables/{name}.md").read_text().startswith(("|", "**"))


def test_reported_metrics_agree_with_an_independent_recomputation(fake_study: Path) -> None:
    """Recompute from the saved predictions with scikit-learn directly, not with our metric code."""
    from sklearn.metrics import accuracy_score, f1_score, log_loss, roc_auc_score

    run_stage("aggregate")
    summary = json.loads(Path("metrics/summary.json").read_text())
    for model in [*STUDY, "cnn32_lstm"]:
        folds = [load_predictions(f"results/{model}/fold{k}.npz") for k in range(FOLDS)]
        accuracy = [accuracy_score(p.heldout_labels, p.heldout_probs.argmax(1)) for p in folds]
        f1 = [f1_score(p.heldout_labels, p.heldout_probs.argmax(1), average="macro") for p in folds]
        cv = summary["models"][model]["cv"]
        assert cv["accuracy"]["mean"] == pytest.approx(np.mean(accuracy), abs=1e-6)
        assert cv["accuracy"]["std"] == pytest.approx(np.std(accuracy, ddof=1), abs=1e-6)
        assert cv["f1_macro"]["mean"] == pytest.approx(np.mean(f1), abs=1e-6)
        ensemble = np.mean([p.test_probs for p in folds], axis=0).astype(np.float64)
        ensemble /= ensemble.sum(1, keepdims=True)  # fp16 in the files: rows sum to 1 within ~1e-3
        test = summary["models"][model]["test_ensemble"]
        labels = folds[0].test_labels
        assert test["accuracy"] == pytest.approx(accuracy_score(labels, ensemble.argmax(1)), abs=1e-6)
        assert test["auroc_macro"] == pytest.approx(roc_auc_score(labels, ensemble, multi_class="ovr"), abs=1e-5)
        assert test["log_loss"] == pytest.approx(log_loss(labels, ensemble / ensemble.sum(1, keepdims=True)), abs=1e-5)
        for k, p in enumerate(folds):
            run = json.loads(Path(f"metrics/runs/{model}/fold{k}.json").read_text())
            assert run["heldout"]["accuracy"] == pytest.approx(accuracy[k], abs=1e-6)


def test_families_do_not_follow_the_study_list(tmp_path: Path, base_params: dict) -> None:
    """Pre-registered: a question's family is derived from every configured model, run or not."""
    from cnnlstm.study.pairs import comparison_pairs
    from cnnlstm.core.params import parse_params

    short = parse_params({**base_params, "study": {**base_params["study"], "models": ["cnn16", "cnn16_lstm"]}})
    assert comparison_pairs(short) == comparison_pairs(parse_params(base_params))
    assert len([p for p in comparison_pairs(short) if p.question == "lstm_vs_cnn"]) == 6


def _expect_error(capsys: pytest.CaptureFixture, stage: str, *fragments: str) -> None:
    with pytest.raises(SystemExit) as exit_info:
        run_stage(stage)
    assert exit_info.value.code == 1
    err = capsys.readouterr().err.strip()
    assert len(err.splitlines()) == 1 and err.startswith("error: ")
    for fragment in fragments:
        assert fragment in err


def test_missing_fold_is_an_error(fake_study: Path, capsys: pytest.CaptureFixture) -> None:
    Path("results/cnn32/fold2.npz").unlink()
    _expect_error(capsys, "aggregate", "results/cnn32/fold2.npz", "not found")


def test_corrupt_predictions_are_an_error(fake_study: Path, capsys: pytest.CaptureFixture) -> None:
    path = Path("results/lstm/fold1.npz")
    path.write_bytes(path.read_bytes()[:200])
    _expect_error(capsys, "aggregate", str(path), "unreadable")


def test_missing_array_is_an_error(fake_study: Path, capsys: pytest.CaptureFixture) -> None:
    path = Path("results/lstm/fold1.npz")
    np.savez(path, heldout_probs=np.zeros((3, 10)))
    _expect_error(capsys, "aggregate", str(path), "not a predictions file")


def test_all_nan_predictions_are_an_error(fake_study: Path, capsys: pytest.CaptureFixture) -> None:
    path = Path("results/cnn16/fold0.npz")
    p = load_predictions(path)
    save_predictions(path, Predictions(**{**p.__dict__, "heldout_probs": np.full_like(p.heldout_probs, np.nan)}))
    _expect_error(capsys, "aggregate", str(path), "all heldout predictions are NaN")


def test_predictions_from_another_split_are_an_error(fake_study: Path, capsys: pytest.CaptureFixture) -> None:
    path = Path("results/cnn16_lstm/fold1.npz")
    save_predictions(path, Predictions(**{**load_predictions(path).__dict__, "folds_sha256": "0" * 64}))
    _expect_error(capsys, "aggregate", str(path), "made with folds 000000000000")


def test_metrics_file_from_another_split_is_an_error(fake_study: Path, capsys: pytest.CaptureFixture) -> None:
    path = Path("metrics/runs/cnn16/fold0.json")
    write_json(path, {**json.loads(path.read_text()), "folds_sha256": "f" * 64})
    _expect_error(capsys, "aggregate", str(path), "made with folds ffffffffffff")


def test_changed_folds_file_is_an_error(fake_study: Path, capsys: pytest.CaptureFixture) -> None:
    save_folds("data/folds.npy", ((np.arange(N_TRAIN) // 10 + 1) % FOLDS).astype(np.int8))
    _expect_error(capsys, "aggregate", "results/cnn16/fold0.npz", "data/folds.npy")


def test_other_test_images_are_an_error(fake_study: Path, capsys: pytest.CaptureFixture) -> None:
    path = Path("results/cnn32/fold1.npz")
    p = load_predictions(path)
    save_predictions(path, Predictions(**{**p.__dict__, "test_index": p.test_index + 1}))
    _expect_error(capsys, "aggregate", str(path), "other test images")


def test_metrics_file_of_another_run_is_an_error(fake_study: Path, capsys: pytest.CaptureFixture) -> None:
    shutil.copy("metrics/runs/cnn32/fold0.json", "metrics/runs/cnn32/fold1.json")
    _expect_error(capsys, "aggregate", "metrics/runs/cnn32/fold1.json", "holds cnn32 fold 0")


def test_summary_records_fold_sizes_analysis_primary_and_fixed_families(fake_study: Path) -> None:
    from cnnlstm.study.stats import holm

    run_stage("aggregate")
    summary = json.loads(Path("metrics/summary.json").read_text())
    assert summary["fold_sizes"] == {"train": 60.0, "heldout": 30.0, "fitted": 57.0}
    registered = {k: v for k, v in yaml.safe_load(Path("params.yaml").read_text())["study"].items() if k != "models"}
    assert {k: v for k, v in summary["analysis"].items() if k != "alpha"} == registered
    primary = summary["primary"]
    judged = summary["comparisons"]["lstm_vs_cnn"]["cnn32_lstm-vs-cnn32"]["accuracy"]
    assert (primary["model"], primary["baseline"], primary["adjusted"]) == ("cnn32_lstm", "cnn32", False)
    assert primary["p_ttest"] == judged["p_ttest"] and primary["verdict"] in ("better", "worse", "equivalent", "inconclusive")
    # lstm_vs_cnn's fixed family: 6 hybrids of params.yaml, 3 of them not in this study (p = 1 each)
    family = summary["families"]["lstm_vs_cnn"]
    assert (family["pairs"], family["judged"]) == (6, 3) and "cnn32_bilstm2d-vs-cnn32" in family["not_run"]
    raw = {k: e["accuracy"]["p_ttest"] for k, e in summary["comparisons"]["lstm_vs_cnn"].items()}
    expected = holm(list(raw.values()) + [1.0] * 3)
    for (key, _), p in zip(raw.items(), expected):
        assert summary["comparisons"]["lstm_vs_cnn"][key]["accuracy"]["p_ttest_holm"] == pytest.approx(p, abs=1e-6)
        assert summary["comparisons"]["lstm_vs_cnn"][key]["accuracy"]["family"] == 6
    assert summary["runs"] == {"done": 21, "of": 21} and summary["incomplete"] == {}


def test_incomplete_model_is_reported_not_judged_only_when_listed(fake_study: Path, capsys: pytest.CaptureFixture) -> None:
    for path in ("results/cnn32/fold2.npz", "metrics/runs/cnn32/fold2.json", "metrics/timings/cnn32/fold2.json",
                 "logs/train/cnn32/fold2/run.json"):
        Path(path).unlink()
    _expect_error(capsys, "aggregate", "results/cnn32/fold2.npz", "not found")
    run_stage("aggregate", "--incomplete", "cnn32")
    summary = json.loads(Path("metrics/summary.json").read_text())
    assert summary["incomplete"] == {"cnn32": {"folds": 2, "of": 3, "label": "incomplete (2 of 3 folds)"}}
    assert "cnn32" not in summary["models"] and summary["runs"] == {"done": 20, "of": 21}
    assert summary["primary"]["verdict"] == "not run"  # cnn32_lstm vs cnn32: no verdict without all folds
    assert "cnn32_lstm-vs-cnn32" in summary["families"]["lstm_vs_cnn"]["not_run"]
    assert all("cnn32" not in (e["model"], e["baseline"]) for q in summary["comparisons"].values() for e in q.values())


def test_a_half_written_run_of_an_incomplete_model_is_an_error(fake_study: Path, capsys: pytest.CaptureFixture) -> None:
    Path("metrics/runs/cnn32/fold2.json").unlink()
    with pytest.raises(SystemExit):
        run_stage("aggregate", "--incomplete", "cnn32")
    err = capsys.readouterr().err.strip()
    assert len(err.splitlines()) == 1 and "metrics/runs/cnn32/fold2.json: missing while other files" in err


def test_runs_of_mixed_precision_are_refused_and_hardware_is_listed(fake_study: Path, capsys: pytest.CaptureFixture) -> None:
    path = Path("logs/train/cnn16/fold1/run.json")
    log = json.loads(path.read_text())
    path.write_text(json.dumps({**log, "hardware": "AMD EPYC 9R14"}))
    run_stage("aggregate")
    conditions = json.loads(Path("metrics/summary.json").read_text())["conditions"]
    assert conditions["train_hardware"] == {"AMD EPYC 9R14": 1, "not recorded": 20}
    path.write_text(json.dumps({**log, "amp": "bfloat16"}))
    _expect_error(capsys, "aggregate", "runs of different recipe or precision, `amp`: 'bfloat16' in cnn16 fold 1; "
                  "'fp32' in cnn16 fold 0 (+19 more)")
