"""The model shipped with the clone (pretrained/): made from the study's best model, tied to the
run that trained it, checked when loaded, and good enough to classify test images with no training."""

from __future__ import annotations

import hashlib
import json
from pathlib import Path

import numpy as np
import pytest
import torch
import yaml
from PIL import Image

from cnnlstm.cli import main
from cnnlstm.core.atomic import write_json
from cnnlstm.core.errors import CnnLstmError
from cnnlstm.core.runtime import resolve_runtime
from cnnlstm.data.fashion_mnist import CLASSES, load_split
from cnnlstm.data.source import find_source
from cnnlstm.models.checkpoint import load_model
from cnnlstm.prediction.models import MANIFEST, load_predictor
from cnnlstm.prediction.shipped import ship_best_model

from conftest import REPO
from test_prediction_models import save_tiny

CPU = resolve_runtime("cpu", "fp32")
SHIPPED = REPO / "pretrained"


@pytest.fixture
def study(tmp_path: Path) -> Path:
    for fold in (0, 1, 2):
        save_tiny(tmp_path / "models" / "tiny" / f"fold{fold}.pt", seed=fold)
    save_tiny(tmp_path / "models" / "other" / "fold0.pt", name="other")
    cv = {"accuracy": {"mean": 0.9, "std": 0.01}}
    write_json(tmp_path / "metrics" / "summary.json", {
        "best_model": "tiny", "conditions": {"epochs": 2},
        "models": {"tiny": {"cv": cv, "test_ensemble": {"accuracy": 0.89}}, "other": {}},
    })
    return tmp_path


def ship(root: Path) -> dict:
    return ship_best_model(root / "models", root / "metrics" / "summary.json", root / "pretrained")


def predictor(root: Path, models_dir: str = "models"):
    return load_predictor(None, root / models_dir, root / "metrics" / "summary.json", CPU, root / "pretrained")


def test_ships_the_best_models_folds_in_fp16_tied_to_their_sources(study: Path) -> None:
    manifest = ship(study)
    assert manifest == json.loads((study / "pretrained" / MANIFEST).read_text())
    assert manifest["model"] == "tiny" and manifest["weights"] == "fp16"
    assert manifest["heldout_accuracy"] == {"mean": 0.9, "std": 0.01} and manifest["conditions"] == {"epochs": 2}
    assert [f["file"] for f in manifest["files"]] == ["tiny/fold0.pt", "tiny/fold1.pt", "tiny/fold2.pt"]
    assert not (study / "pretrained" / "other").exists()
    for entry in manifest["files"]:
        shipped, source = study / "pretrained" / entry["file"], study / entry["source"]
        assert entry["source_md5"] == hashlib.md5(source.read_bytes()).hexdigest()
        assert entry["sha256"] == hashlib.sha256(shipped.read_bytes()).hexdigest()
        state = torch.load(shipped, weights_only=True)["state_dict"]
        assert all(t.dtype == torch.float16 for t in state.values() if t.is_floating_point())
        model, meta = load_model(shipped)  # fp16 weights load into the fp32 model
        reference, _ = load_model(source)
        assert meta["model"] == "tiny" and next(model.parameters()).dtype == torch.float32
        for mine, theirs in zip(model.parameters(), reference.parameters()):
            torch.testing.assert_close(mine, theirs, rtol=1e-3, atol=1e-4)  # fp16 rounding only


def test_shipping_twice_gives_identical_bytes(study: Path) -> None:
    first = ship(study)
    assert ship(study) == first


def test_predict_uses_the_shipped_model_only_where_none_is_trained(study: Path) -> None:
    ship(study)
    local = predictor(study)
    assert local.source == (study / "models" / "tiny").as_posix()
    shipped = predictor(study, "no-models-here")
    assert "shipped with the clone" in shipped.source and len(shipped.models) == 3
    images = torch.randint(0, 256, (8, 28, 28), dtype=torch.uint8)
    torch.testing.assert_close(shipped.probabilities(images), local.probabilities(images), rtol=0, atol=2e-3)


def test_a_replaced_shipped_file_is_refused(study: Path) -> None:
    ship(study)
    save_tiny(study / "pretrained" / "tiny" / "fold1.pt", seed=7)
    with pytest.raises(CnnLstmError, match=r"fold1.pt: sha256 differs from .*manifest.json"):
        predictor(study, "no-models-here")


def test_no_shipped_copy_keeps_the_no_trained_model_error(study: Path) -> None:
    with pytest.raises(CnnLstmError, match="no trained model files"):
        predictor(study, "no-models-here")


# The committed copy: the one a fresh clone uses.

def _locked_md5s() -> dict[str, str]:
    lock = yaml.safe_load((REPO / "dvc.lock").read_text())
    return {out["path"]: out["md5"] for stage in lock["stages"].values() for out in stage.get("outs", [])}


def test_committed_shipped_model_is_the_published_best_model_of_the_locked_run() -> None:
    manifest = json.loads((SHIPPED / MANIFEST).read_text())
    summary = json.loads((REPO / "metrics" / "summary.json").read_text())
    assert manifest["model"] == summary["best_model"]
    assert manifest["heldout_accuracy"] == summary["models"][manifest["model"]]["cv"]["accuracy"]
    locked = _locked_md5s()
    assert len(manifest["files"]) == summary["folds"]
    for entry in manifest["files"]:
        assert entry["source_md5"] == locked[entry["source"]], f"{entry['source']}: not the file dvc.lock records"
        assert entry["sha256"] == hashlib.sha256((SHIPPED / entry["file"]).read_bytes()).hexdigest()


RAW = find_source(None)


@pytest.mark.skipif(RAW is None, reason="no local Fashion-MNIST copy")
def test_fresh_clone_classifies_official_test_pngs_with_no_training(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture
) -> None:
    """Acceptance: 20 PNGs of the official test set (two per class, the first of each), predicted by
    `cnnlstm predict` from the repository root with no trained models: at least 17 right."""
    test = load_split(RAW, "t10k")
    picks = [i for label in range(len(CLASSES)) for i in np.flatnonzero(test.labels == label)[:2]]
    pngs = []
    for i in picks:
        path = tmp_path / f"test{i:05d}.png"
        Image.fromarray(test.images[i]).save(path)
        pngs.append(str(path))
    monkeypatch.chdir(REPO)  # where a user runs it: the defaults find pretrained/ and metrics/
    assert main(["predict", "--json", "--top", "1", "--models-dir", str(tmp_path / "no-trained-models"), *pngs]) == 0
    report = json.loads(capsys.readouterr().out)
    assert "shipped with the clone" in report["source"]
    predicted = [r["top"][0]["index"] for r in report["results"]]
    right = sum(int(p == test.labels[i]) for p, i in zip(predicted, picks))
    assert right >= 17, f"{right} of 20 right"
