"""Choosing and loading the model(s) `cnnlstm predict` uses: safe, and clear when it cannot."""

from __future__ import annotations

from pathlib import Path

import pytest
import torch

from cnnlstm.core.atomic import write_json
from cnnlstm.models.checkpoint import FORMAT, save_model, save_torch
from cnnlstm.core.errors import CnnLstmError
from cnnlstm.core.inference import predict_logits
from cnnlstm.core.model_configs import parse_config
from cnnlstm.models.registry import build_model
from cnnlstm.prediction.models import load_predictor
from cnnlstm.prediction.selection import Sources, resolve_model
from cnnlstm.core.runtime import resolve_runtime

from prediction_records import write_records

TINY = {"family": "cnn", "channels": [4, 8], "hidden": 16, "dropout": 0.25}
CPU = resolve_runtime("cpu", "fp32")


def save_tiny(path: Path, name: str = "tiny", seed: int = 0, spec: dict = TINY) -> Path:
    family, config = parse_config(spec, "test")
    torch.manual_seed(seed)
    save_model(path, name, family, config, build_model(family, config), fold=0)
    return path


@pytest.fixture
def study(tmp_path: Path) -> Path:
    for fold in (0, 1, 2, 10):  # fold10 sorts after fold2 numerically, not as text
        save_tiny(tmp_path / "models" / "tiny" / f"fold{fold}.pt", seed=fold)
    write_json(tmp_path / "metrics" / "summary.json", {"best_model": "tiny", "folds": 4, "models": {}})
    write_records(tmp_path, "tiny", (0, 1, 2, 10), cv_folds=4)
    return tmp_path


def where(root: Path, summary: str = "metrics/summary.json") -> Sources:
    return Sources(root / "models", root / "pretrained", root / summary, root / "metrics" / "runs",
                   root / "logs" / "train", root / "dvc.lock")


def load(study: Path, spec: str | None, allow_partial: bool = False, allow_slice: bool = False) -> object:
    return load_predictor(resolve_model(spec, where(study)), where(study), CPU, allow_partial, allow_slice)


def test_default_is_the_best_models_fold_ensemble(study: Path) -> None:
    shipped = study / "pretrained"
    name, files, source, manifest = resolve_model(None, where(study))
    assert name == "tiny" and [f.name for f in files] == ["fold0.pt", "fold1.pt", "fold2.pt", "fold10.pt"]
    assert source == (study / "models" / "tiny").as_posix() and manifest is None and not shipped.exists()
    assert resolve_model("tiny", where(study, "nothing.json")) == (name, files, source, None)


def test_a_path_names_one_file(study: Path) -> None:
    file = study / "models" / "tiny" / "fold1.pt"
    assert resolve_model(str(file), where(study, "nothing.json")) == (None, (file,), str(file), None)


def test_ensemble_averages_each_models_softmax(study: Path) -> None:
    images = torch.randint(0, 256, (5, 28, 28), dtype=torch.uint8)
    predictor = load(study, None)
    singles = [torch.softmax(predict_logits(m, images, CPU), dim=1) for m in predictor.models]
    probs = predictor.probabilities(images)
    assert probs.shape == (5, 10) and len(predictor.models) == 4
    torch.testing.assert_close(probs, sum(singles) / 4)
    torch.testing.assert_close(probs.sum(dim=1), torch.ones(5))


@pytest.mark.parametrize(
    ("setup", "words"),
    [
        (lambda root: None, "summary.json: not found"),
        (lambda root: (root / "metrics" / "summary.json").write_text("[1, 2"), "not a summary JSON object"),
        (lambda root: write_json(root / "metrics" / "summary.json", {"models": {}}), "has no best_model"),
        (lambda root: write_json(root / "metrics" / "summary.json", {"best_model": "cnn32"}), "no trained model files"),
    ],
)
def test_default_model_problems_are_one_line(tmp_path: Path, setup, words: str) -> None:
    (tmp_path / "metrics").mkdir()
    setup(tmp_path)
    with pytest.raises(CnnLstmError, match=words):
        load(tmp_path, None)


def test_unknown_name_lists_the_trained_models(study: Path) -> None:
    with pytest.raises(CnnLstmError, match=r"models/cnn32: no trained model files fold\*\.pt \(models there: tiny\)"):
        load(study, "cnn32")


def test_missing_file(study: Path) -> None:
    with pytest.raises(CnnLstmError, match="model file not found"):
        load(study, str(study / "models" / "nope.pt"))


def _payload(**changes) -> dict:
    family, config = parse_config(TINY, "test")
    model = build_model(family, config)
    return {"format": FORMAT, "model": "tiny", "family": family, "config": {"channels": [4, 8], "hidden": 16, "dropout": 0.25},
            "state_dict": model.state_dict(), **changes}


@pytest.mark.parametrize(
    ("write", "words"),
    [
        (lambda p: save_torch(p, _payload(format="cnnlstm-model/0")), "format 'cnnlstm-model/0', expected"),
        (lambda p: save_torch(p, _payload(config={"channels": [8, 16], "hidden": 16, "dropout": 0.25})), "do not fit the cnn"),
        (lambda p: save_torch(p, _payload(family="transformer")), "family: must be one of"),
        (lambda p: save_torch(p, _payload(config={"heads": 4})), "config"),
        (lambda p: save_torch(p, {"format": FORMAT, "model": "tiny"}), "lacks its config or weights"),
        (lambda p: torch.save(build_model(*parse_config(TINY, "t")).state_dict(), p), "no 'format' field"),
        (lambda p: torch.save(torch.zeros(3), p), "not a cnnlstm file"),
        (lambda p: p.write_bytes(b"\x00garbage" * 100), "not a loadable weights file"),
    ],
)
def test_foreign_model_file_is_a_one_line_error(tmp_path: Path, write, words: str) -> None:
    path = tmp_path / "other.pt"
    write(path)
    with pytest.raises(CnnLstmError) as info:
        load(tmp_path, str(path))
    assert str(info.value).startswith(str(path)) and words in str(info.value) and "\n" not in str(info.value)


class _Planted:
    """Unpickling this runs code: it creates the marker file."""

    def __init__(self, marker: Path) -> None:
        self.marker = marker

    def __reduce__(self):
        return (Path.touch, (self.marker,))


def test_model_file_cannot_run_code(tmp_path: Path) -> None:
    marker, path = tmp_path / "code-ran", tmp_path / "planted.pt"
    torch.save({**_payload(), "extra": _Planted(marker)}, path)
    with pytest.raises(CnnLstmError, match="not a weights-only file"):
        load(tmp_path, str(path))
    assert not marker.exists()
    torch.load(path, weights_only=False)  # the file really is hostile: an unsafe load runs it
    assert marker.exists()


def test_file_of_another_model_in_the_folder(study: Path) -> None:
    save_tiny(study / "models" / "tiny" / "fold3.pt", name="cnn16")
    with pytest.raises(CnnLstmError, match="fold3.pt: holds model 'cnn16', not 'tiny'"):
        load(study, "tiny")


def test_single_file_is_named_by_its_metadata(study: Path) -> None:
    predictor = load(study, str(study / "models" / "tiny" / "fold2.pt"))
    assert predictor.name == "tiny" and len(predictor.models) == 1 and not predictor.models[0].training


# Provenance: which files, from which run; the study's model or refused in one line.

def test_the_study_model_is_described_from_its_run_records(study: Path) -> None:
    provenance = load(study, None).provenance
    assert provenance.folds == (0, 1, 2, 10) and provenance.cv_folds == 4
    assert (provenance.cv_subset, provenance.test_subset) == (1.0, 1.0)
    assert provenance.describe().startswith(
        "2 epochs, batch 128, lr 0.003, no augmentation, bfloat16 on cpu; data: 100% of the training images "
        "(cv.subset), 4 of 4 folds, 100% of the test set (eval.test_subset); commit: ")


def test_a_partial_ensemble_is_refused_in_one_line_unless_allowed(study: Path) -> None:
    (study / "models" / "tiny" / "fold10.pt").unlink()  # an interrupted run: 3 of 4 folds trained
    with pytest.raises(CnnLstmError) as info:
        load(study, None)
    assert str(info.value) == (f"{(study / 'models' / 'tiny').as_posix()}: refused, a partial ensemble "
                               "(3 of 4 fold models); --allow-partial uses it anyway")
    assert len(load(study, None, allow_partial=True).models) == 3


@pytest.mark.parametrize(("subset", "test_subset", "shown"), [(0.05, 1.0, "5% of the training"),
                                                               (1.0, 0.1, "10% of the test set")])
def test_a_small_slice_is_refused_in_one_line_unless_allowed(study: Path, subset, test_subset, shown) -> None:
    write_records(study, "tiny", (0, 1, 2, 10), cv_folds=4, subset=subset, test_subset=test_subset)
    with pytest.raises(CnnLstmError) as info:
        load(study, "tiny")
    message = str(info.value)
    assert "refused, not trained on the whole data" in message and shown in message and "\n" not in message
    assert message.endswith("--allow-slice uses it anyway")
    assert load(study, "tiny", allow_slice=True).provenance.cv_subset == subset


def test_models_without_run_records_are_refused(study: Path) -> None:
    (study / "metrics" / "runs" / "tiny" / "fold2.json").unlink()  # trained, never evaluated
    with pytest.raises(CnnLstmError, match="not trained on the whole data .unknown of the training images"):
        load(study, None)


def test_a_file_named_explicitly_is_used_and_described(study: Path) -> None:
    predictor = load(study, str(study / "models" / "tiny" / "fold1.pt"))
    assert predictor.provenance.folds == (1,) and predictor.provenance.cv_folds == 4
