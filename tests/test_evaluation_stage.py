"""The evaluate stage on a tiny synthetic dataset with an untrained model: outputs, agreement with
an independent recomputation, bit-identical reruns, and the bad inputs it must refuse."""

from __future__ import annotations

import json
import runpy
import shutil
from pathlib import Path

import numpy as np
import pytest
import torch
import yaml
from sklearn.metrics import accuracy_score, confusion_matrix, f1_score, log_loss, roc_auc_score

from cnnlstm.models.checkpoint import load_model, save_model
from cnnlstm.data.fashion_mnist import load_split
from cnnlstm.data.folds import assign_folds, file_sha256, fold_indices, save_folds
from cnnlstm.models.cost import architecture_cost
from cnnlstm.evaluation.predictions import load_predictions, stored
from cnnlstm.core.inference import predict_logits
from cnnlstm.core.model_configs import parse_config
from cnnlstm.models.registry import build_model
from cnnlstm.core.runtime import cpu_has_bf16, resolve_runtime

REPO = Path(__file__).resolve().parents[1]
MODEL = "cnn16"


def save_untrained(path: Path, spec: dict, fold: int, folds_sha256: str) -> None:
    family, config = parse_config(spec, MODEL)
    torch.manual_seed(0)
    save_model(path, MODEL, family, config, build_model(family, config), fold=fold, folds_sha256=folds_sha256,
               best_epoch=1)


@pytest.fixture
def repo(tmp_path: Path, synthetic_raw: Path, base_params: dict, monkeypatch: pytest.MonkeyPatch) -> Path:
    """params.yaml (2 folds, half the test set, 3 t-SNE images per class), data/, a model file per fold."""
    root = tmp_path / "repo"
    shutil.copytree(synthetic_raw, root / "data/raw")
    base_params["cv"].update(folds=2, fold_ids=[0, 1])
    # fp32 stated here, not inherited: the recomputation below is fp32, and under bf16 autocast
    # (CPUs with native bf16) the probabilities differ by ~1e-2, far above allclose's tolerance.
    base_params["eval"].update(test_subset=0.5, tsne_per_class=3, batch_size=32, precision="fp32", device="cpu")
    (root / "params.yaml").write_text(yaml.safe_dump(base_params))
    monkeypatch.chdir(root)
    labels = load_split("data/raw", "train").labels
    save_folds("data/folds.npy", assign_folds(labels, 2, seed=0))
    for fold in (0, 1):
        save_untrained(Path(f"models/{MODEL}/fold{fold}.pt"), base_params["models"][MODEL], fold,
                       file_sha256("data/folds.npy"))
        run_json = Path(f"runs/{MODEL}/fold{fold}/run.json")
        run_json.parent.mkdir(parents=True)
        run_json.write_text(json.dumps({"train_seconds": 1.5}))
    return root


def evaluate(monkeypatch: pytest.MonkeyPatch, model: str = MODEL) -> None:
    monkeypatch.setattr("sys.argv", ["evaluate.py", model])
    runpy.run_path(str(REPO / "stages/evaluate.py"), run_name="__main__")


def test_outputs_agree_with_an_independent_recomputation(repo: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    evaluate(monkeypatch)
    p = load_predictions(f"results/{MODEL}/fold0.npz", file_sha256("data/folds.npy"))
    metrics = json.loads(Path(f"results/{MODEL}/fold0.metrics.json").read_text())
    train, test = load_split("data/raw", "train"), load_split("data/raw", "t10k")
    _, heldout = fold_indices(np.load("data/folds.npy").astype(np.int64), 0)
    assert np.array_equal(p.heldout_index, heldout) and np.array_equal(p.heldout_labels, train.labels[heldout])
    assert len(p.test_index) == 50 and np.bincount(p.test_labels).tolist() == [5] * 10  # stratified half
    assert np.bincount(p.tsne_labels).tolist() == [3] * 10 and p.tsne_features.shape[0] == 30
    model, _ = load_model(f"models/{MODEL}/fold0.pt")
    logits = predict_logits(model, torch.from_numpy(test.images[p.test_index]), resolve_runtime("cpu", "fp32"))
    assert np.array_equal(p.test_probs, stored(torch.softmax(logits, 1).numpy()))  # fp16 in the file, as stored() rounds
    for part in ("heldout", "test"):
        labels, probs = getattr(p, f"{part}_labels"), getattr(p, f"{part}_probs").astype(np.float64)
        probs = probs / probs.sum(1, keepdims=True)  # fp16 in the file: rows sum to 1 within ~1e-3
        predicted = probs.argmax(1)
        reported = metrics[part]
        assert reported["accuracy"] == pytest.approx(accuracy_score(labels, predicted), abs=1e-6)
        assert reported["f1_macro"] == pytest.approx(f1_score(labels, predicted, average="macro"), abs=1e-6)
        assert reported["auroc_macro"] == pytest.approx(roc_auc_score(labels, probs, multi_class="ovr"), abs=1e-5)
        assert reported["log_loss"] == pytest.approx(log_loss(labels, probs / probs.sum(1, keepdims=True)), abs=1e-5)
        assert reported["confusion_matrix"] == confusion_matrix(labels, predicted, labels=range(10)).tolist()
    timings = json.loads(Path(f"results/{MODEL}/fold0.timings.json").read_text())
    assert timings["train_seconds"] == 1.5 and timings["inference_images_per_s"] > 0 and timings["latency_ms"] > 0


@pytest.mark.skipif(not cpu_has_bf16(), reason="this CPU has no native bf16")
def test_bf16_evaluation_stays_within_bf16_rounding_of_fp32(repo: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """eval.precision bf16 keeps 8 mantissa bits (relative rounding 2^-8 = 0.4% per operation):
    over a few layers the softmax moves by a few 1e-3, so 0.03 bounds it with room, while a wrong
    model or preprocessing moves probabilities by ~0.1 or more."""
    params = yaml.safe_load(Path("params.yaml").read_text())
    params["eval"]["precision"] = "bf16"
    Path("params.yaml").write_text(yaml.safe_dump(params))
    evaluate(monkeypatch)
    p = load_predictions(f"results/{MODEL}/fold0.npz", file_sha256("data/folds.npy"))
    model, _ = load_model(f"models/{MODEL}/fold0.pt")
    test = load_split("data/raw", "t10k")
    logits = predict_logits(model, torch.from_numpy(test.images[p.test_index]), resolve_runtime("cpu", "fp32"))
    assert np.abs(p.test_probs - torch.softmax(logits, 1).numpy()).max() < 0.03


def test_runs_trained_in_bf16_are_evaluated_on_a_cpu_without_it(repo, monkeypatch, capsys) -> None:
    """Evaluation needs eval.* only: train.precision bf16 (the study's) is no reason to refuse here."""
    monkeypatch.setattr("cnnlstm.core.runtime.cpu_has_bf16", lambda: False)
    params = yaml.safe_load(Path("params.yaml").read_text())
    params["train"]["precision"] = "bf16"
    Path("params.yaml").write_text(yaml.safe_dump(params))
    evaluate(monkeypatch)
    assert Path(f"results/{MODEL}/fold1.metrics.json").exists()
    params["eval"]["precision"] = "bf16"
    Path("params.yaml").write_text(yaml.safe_dump(params))
    shutil.rmtree("results")
    _expect_error(monkeypatch, capsys, "eval.precision: bf16 requested but this cpu does not support it")


def test_quality_metrics_are_bit_identical_between_runs(repo: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    evaluate(monkeypatch)
    first = Path(f"results/{MODEL}/fold0.metrics.json").read_bytes()
    evaluate(monkeypatch)
    assert Path(f"results/{MODEL}/fold0.metrics.json").read_bytes() == first


def _expect_error(monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture, *fragments: str, **kw) -> None:
    with pytest.raises(SystemExit) as exit_info:
        evaluate(monkeypatch, **kw)
    assert exit_info.value.code == 1
    err = capsys.readouterr().err.strip()
    assert len(err.splitlines()) == 1
    for fragment in fragments:
        assert fragment in err
    assert not Path(f"results/{MODEL}/fold0.metrics.json").exists()


def test_model_from_another_fold_split_is_refused(repo: Path, monkeypatch, capsys) -> None:
    labels = load_split("data/raw", "train").labels
    save_folds("data/folds.npy", assign_folds(labels, 2, seed=1))
    _expect_error(monkeypatch, capsys, f"models/{MODEL}/fold0.pt", "trained on folds")


def test_model_file_of_another_fold_is_refused(repo: Path, base_params: dict, monkeypatch, capsys) -> None:
    save_untrained(Path(f"models/{MODEL}/fold0.pt"), base_params["models"][MODEL], 1, file_sha256("data/folds.npy"))
    _expect_error(monkeypatch, capsys, f"models/{MODEL}/fold0.pt", "fold 1")


def test_missing_training_summary_is_refused(repo: Path, monkeypatch, capsys) -> None:
    Path(f"runs/{MODEL}/fold0/run.json").unlink()
    _expect_error(monkeypatch, capsys, f"runs/{MODEL}/fold0/run.json")


def test_every_fold_is_evaluated_and_a_missing_one_is_named(repo: Path, monkeypatch, capsys) -> None:
    evaluate(monkeypatch)
    for fold in (0, 1):
        metrics = json.loads(Path(f"results/{MODEL}/fold{fold}.metrics.json").read_text())
        assert metrics["fold"] == fold and Path(f"results/{MODEL}/fold{fold}.npz").is_file()
    Path(f"models/{MODEL}/fold1.pt").unlink()
    with pytest.raises(SystemExit) as exit_info:
        evaluate(monkeypatch)
    assert exit_info.value.code == 1
    err = capsys.readouterr().err.strip()
    assert len(err.splitlines()) == 1 and f"models/{MODEL}/fold1.pt" in err


def test_unknown_model_is_refused(repo: Path, monkeypatch, capsys) -> None:
    _expect_error(monkeypatch, capsys, "unknown model 'nope'", model="nope")


def test_architecture_cost_counts_parameters_and_flops(base_params: dict) -> None:
    family, config = parse_config(base_params["models"][MODEL], MODEL)
    cost = architecture_cost(family, config)
    assert cost["params"] == sum(t.numel() for t in build_model(family, config).parameters())
    assert cost["flops_per_image"] > 2 * cost["params"]  # conv layers reuse their weights at every position
