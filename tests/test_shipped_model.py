"""The models shipped with the clone (pretrained/): the study's best and proposed models, tied to
the run that trained them, never replaced by a partial or small-slice run, checked when loaded, and
good enough to classify test images with no training."""

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
from cnnlstm.prediction.models import load_predictor
from cnnlstm.prediction.selection import MANIFEST, Sources, resolve_model
from cnnlstm.prediction.shipped import ship_models

from conftest import REPO
from prediction_records import write_records
from test_prediction_models import save_tiny

CPU = resolve_runtime("cpu", "fp32")
SHIPPED = REPO / "pretrained"


@pytest.fixture
def study(tmp_path: Path) -> Path:
    for name in ("tiny", "prop"):
        for fold in (0, 1, 2):
            save_tiny(tmp_path / "models" / name / f"fold{fold}.pt", name=name, seed=fold)
        write_records(tmp_path, name, (0, 1, 2), cv_folds=3)
    save_tiny(tmp_path / "models" / "other" / "fold0.pt", name="other")
    cv = {"accuracy": {"mean": 0.9, "std": 0.01}}
    write_json(tmp_path / "metrics" / "summary.json", {
        "best_model": "tiny", "proposed_model": "prop", "folds": 3, "conditions": {"epochs": 2},
        "models": {"tiny": {"cv": cv, "test_ensemble": {"accuracy": 0.89}},
                   "prop": {"cv": {"accuracy": {"mean": 0.8, "std": 0.02}}, "test_ensemble": {"accuracy": 0.79}},
                   "other": {}},
    })
    return tmp_path


def ship(root: Path) -> dict:
    ship_models(root / "models", root / "metrics" / "summary.json", root / "metrics" / "runs", root / "logs" / "train",
                root / "pretrained")
    return json.loads((root / "pretrained" / MANIFEST).read_text())


def predictor(root: Path, models_dir: str = "models", spec: str | None = None):
    where = Sources(root / models_dir, root / "pretrained", root / "metrics" / "summary.json",
                    root / "metrics" / "runs", root / "logs" / "train", root / "dvc.lock")
    return load_predictor(resolve_model(spec, where), where, CPU, False, False)


def test_ships_the_best_and_proposed_models_folds_in_fp16_tied_to_their_sources(study: Path) -> None:
    manifest = ship(study)
    assert manifest["weights"] == "fp16" and set(manifest["shipped"]) == {"tiny", "prop"}
    best, proposed = manifest["shipped"]["tiny"], manifest["shipped"]["prop"]
    assert best["roles"] == ["best"] and proposed["roles"] == ["proposed"]
    assert best["heldout_accuracy"] == {"mean": 0.9, "std": 0.01} and best["conditions"] == {"epochs": 2}
    assert best["provenance"]["folds"] == [0, 1, 2] and best["provenance"]["cv_subset"] == 1.0
    assert best["provenance"]["recipe"]["epochs"] == 2
    assert [f["file"] for f in manifest["files"]] == [f"{m}/fold{k}.pt" for m in ("prop", "tiny") for k in range(3)]
    assert not (study / "pretrained" / "other").exists()
    for entry in manifest["files"]:
        shipped, source = study / "pretrained" / entry["file"], study / entry["source"]
        assert entry["source_md5"] == hashlib.md5(source.read_bytes()).hexdigest()
        assert entry["sha256"] == hashlib.sha256(shipped.read_bytes()).hexdigest()
        state = torch.load(shipped, weights_only=True)["state_dict"]
        assert all(t.dtype == torch.float16 for t in state.values() if t.is_floating_point())
        model, meta = load_model(shipped)  # fp16 weights load into the fp32 model
        reference, _ = load_model(source)
        assert meta["model"] == entry["file"].split("/")[0] and next(model.parameters()).dtype == torch.float32
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


def test_the_proposed_model_is_predicted_from_the_shipped_copy(study: Path) -> None:
    ship(study)
    shipped = predictor(study, "no-models-here", spec="prop")
    assert shipped.name == "prop" and "shipped with the clone" in shipped.source
    assert shipped.provenance.cv_folds == 3 and shipped.provenance.describe().startswith("2 epochs")


def test_a_small_or_partial_run_ships_nothing_and_deletes_nothing(study: Path) -> None:
    """An experiment in the workspace (2 folds of a 5% slice, a new best model) runs the ship stage."""
    before = ship(study)
    files = {p: p.read_bytes() for p in (study / "pretrained").rglob("*.pt")}
    write_records(study, "tiny", (0, 1, 2), cv_folds=3, subset=0.05)
    (study / "models" / "prop" / "fold2.pt").unlink()
    lines = ship_models(study / "models", study / "metrics" / "summary.json", study / "metrics" / "runs",
                        study / "logs" / "train", study / "pretrained")
    assert [line.split(": not shipped, ")[1].split(" (")[0] for line in lines] == [
        "not trained on the whole data", "a partial ensemble"]
    assert json.loads((study / "pretrained" / MANIFEST).read_text()) == before
    assert {p: p.read_bytes() for p in (study / "pretrained").rglob("*.pt")} == files


def test_a_new_best_model_is_shipped_beside_the_old_ones(study: Path) -> None:
    ship(study)
    for fold in (0, 1, 2):
        save_tiny(study / "models" / "new" / f"fold{fold}.pt", name="new", seed=fold)
    write_records(study, "new", (0, 1, 2), cv_folds=3)
    summary = json.loads((study / "metrics" / "summary.json").read_text())
    summary["models"]["new"] = summary["models"]["tiny"]
    write_json(study / "metrics" / "summary.json", {**summary, "best_model": "new"})
    manifest = ship(study)
    assert {name: entry["roles"] for name, entry in manifest["shipped"].items()} == {
        "tiny": [], "prop": ["proposed"], "new": ["best"]}
    assert len(list((study / "pretrained").rglob("*.pt"))) == 9


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


_COMMITTED = json.loads((SHIPPED / MANIFEST).read_text())


def test_committed_shipped_models_are_the_published_best_and_proposed_models_of_the_locked_run() -> None:
    summary = json.loads((REPO / "metrics" / "summary.json").read_text())
    roles = {name: entry["roles"] for name, entry in _COMMITTED["shipped"].items() if entry["roles"]}
    assert sorted(r for rs in roles.values() for r in rs) == ["best", "proposed"]
    for role in ("best", "proposed"):
        name = summary[f"{role}_model"]
        assert role in roles[name]
        entry = _COMMITTED["shipped"][name]
        assert entry["heldout_accuracy"] == summary["models"][name]["cv"]["accuracy"]
        assert len(entry["provenance"]["folds"]) == summary["folds"] == entry["provenance"]["cv_folds"]
        assert (entry["provenance"]["cv_subset"], entry["provenance"]["test_subset"]) == (1.0, 1.0)
    locked = _locked_md5s()
    for entry in _COMMITTED["files"]:
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
