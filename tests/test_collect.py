"""Stage collect's mirror of each run's small files into git, and its `--incomplete` for a study
between sittings: runs not done are skipped and their copies from an earlier study removed."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from cnnlstm.collect import CollectPaths, collect
from cnnlstm.core.errors import CnnLstmError

MODELS, FOLDS = ("cnn16", "cnn32"), (0, 1)


def make_paths(root: Path) -> CollectPaths:
    return CollectPaths(runs=root / "runs", results=root / "results", train_logs=root / "logs/train",
                        metrics=root / "metrics/runs", timings=root / "metrics/timings")


def train(paths: CollectPaths, model: str, fold: int) -> None:
    log = paths.runs / model / f"fold{fold}"
    log.mkdir(parents=True)
    (log / "run.json").write_text(json.dumps({"model": model, "fold": fold}))


def evaluate(paths: CollectPaths, model: str, fold: int) -> None:
    (paths.results / model).mkdir(parents=True, exist_ok=True)
    for kind in ("metrics", "timings"):
        (paths.results / model / f"fold{fold}.{kind}.json").write_text(json.dumps({"kind": kind, "fold": fold}))


@pytest.fixture
def paths(tmp_path: Path) -> CollectPaths:
    """cnn16 trained and evaluated; cnn32 fold 0 trained only; stale copies of an older cnn32 study."""
    paths = make_paths(tmp_path)
    for fold in FOLDS:
        train(paths, "cnn16", fold)
        evaluate(paths, "cnn16", fold)
    train(paths, "cnn32", 0)
    for fold in FOLDS:
        (paths.train_logs / "cnn32" / f"fold{fold}").mkdir(parents=True)
        (paths.train_logs / "cnn32" / f"fold{fold}" / "run.json").write_text("{}")
        for folder in (paths.metrics, paths.timings):
            (folder / "cnn32").mkdir(parents=True, exist_ok=True)
            (folder / "cnn32" / f"fold{fold}.json").write_text("{}")
    return paths


def test_every_run_is_mirrored(paths: CollectPaths) -> None:
    evaluate(paths, "cnn32", 0)
    train(paths, "cnn32", 1)
    evaluate(paths, "cnn32", 1)
    assert collect(paths, MODELS, FOLDS) == 12
    assert json.loads((paths.metrics / "cnn32" / "fold1.json").read_text()) == {"kind": "metrics", "fold": 1}
    assert json.loads((paths.train_logs / "cnn16" / "fold0" / "run.json").read_text())["model"] == "cnn16"


def test_a_missing_run_is_an_error_unless_its_model_is_listed_incomplete(paths: CollectPaths) -> None:
    with pytest.raises(CnnLstmError, match=r"results/cnn32/fold0.metrics.json: not found \(5 run files missing\)"):
        collect(paths, MODELS, FOLDS)
    assert collect(paths, MODELS, FOLDS, incomplete=("cnn32",)) == 6  # cnn16's two runs
    # the older study's copies are gone, so the analysis cannot take them for this study's runs
    assert not (paths.train_logs / "cnn32" / "fold0").exists() and not (paths.metrics / "cnn32" / "fold1.json").exists()
    assert not (paths.timings / "cnn32" / "fold0.json").exists()
    assert (paths.metrics / "cnn16" / "fold1.json").is_file()


def test_an_unknown_incomplete_model_is_refused(paths: CollectPaths) -> None:
    with pytest.raises(CnnLstmError, match=r"^--incomplete: 'cnn64' is not a study model \(cnn16, cnn32\)$"):
        collect(paths, MODELS, FOLDS, incomplete=("cnn64",))
