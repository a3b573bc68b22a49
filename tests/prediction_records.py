"""Run records as the train and evaluate stages write them, for tests of predict and ship."""

from __future__ import annotations

from pathlib import Path

from cnnlstm.core.atomic import write_json
from cnnlstm.prediction.provenance import FULL_TEST_IMAGES, FULL_TRAIN_IMAGES

RECIPE = {"epochs": 2, "batch_size": 128, "lr": 0.003, "amp": "bfloat16", "device": "cpu",
          "augment": {"crop_padding": 0, "hflip": False, "erasing": 0.0}}


def write_records(root: Path, name: str, folds: tuple[int, ...], cv_folds: int,
                  subset: float = 1.0, test_subset: float = 1.0) -> None:
    """metrics/runs/<name>/fold<k>.json and logs/train/<name>/fold<k>/run.json of a run on
    `subset` of the training images cut into `cv_folds` folds (model files carry no folds_sha256)."""
    heldout = round(FULL_TRAIN_IMAGES * subset / cv_folds)
    for fold in folds:
        write_json(root / "metrics" / "runs" / name / f"fold{fold}.json", {
            "model": name, "fold": fold,
            "heldout": {"images": heldout}, "test": {"images": round(FULL_TEST_IMAGES * test_subset)},
        })
        write_json(root / "logs" / "train" / name / f"fold{fold}" / "run.json", {**RECIPE, "model": name, "fold": fold})
