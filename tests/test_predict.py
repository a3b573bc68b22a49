"""`cnnlstm predict` end to end, as a user runs it from the repository root.

Acceptance: official test images written out as PNG files get exactly the probabilities the
evaluate stage computes (softmax of predict_logits on the raw uint8 images); bad files get one
line each on stderr while the other files are still predicted.
"""

from __future__ import annotations

import json
import shutil
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest
import torch
from PIL import Image

from cnnlstm.core.atomic import write_json
from cnnlstm.models.checkpoint import load_model, save_model
from cnnlstm.cli import main
from cnnlstm.data.fashion_mnist import CLASSES, load_split
from cnnlstm.data.source import find_source
from cnnlstm.core.inference import predict_logits, to_pixels
from cnnlstm.core.model_configs import parse_config
from cnnlstm.models.registry import build_model
from cnnlstm.core.runtime import resolve_runtime

from conftest import REPO
from prediction_records import write_records
from test_prediction_images import png_header_only

RAW = find_source(None) or REPO / "data" / "raw"  # Fashion-MNIST as a fresh clone finds it
pytestmark = pytest.mark.skipif(not (RAW / "t10k-images-idx3-ubyte.gz").is_file(), reason="no local Fashion-MNIST copy")

TINY = {"family": "cnn", "channels": [4, 8], "hidden": 16, "dropout": 0.0}
N_IMAGES = 20
CPU_FP32 = ["--device", "cpu", "--precision", "fp32"]  # the evaluate stage's runtime on this machine


def train_tiny(images: np.ndarray, labels: np.ndarray, seed: int, steps: int = 20) -> torch.nn.Module:
    """A few optimiser steps, enough for confident, image-dependent predictions."""
    torch.manual_seed(seed)
    model = build_model(*parse_config(TINY, "tiny"))
    pixels, targets = to_pixels(torch.from_numpy(images.copy())), torch.from_numpy(labels)
    model.pixel_mean.fill_(float(pixels.mean()))
    model.pixel_std.fill_(float(pixels.std()))
    optimizer = torch.optim.AdamW(model.parameters(), lr=1e-2)
    model.train()
    for _ in range(steps):
        batch = torch.randint(0, len(pixels), (64,))
        loss = torch.nn.functional.cross_entropy(model(pixels[batch]), targets[batch])
        optimizer.zero_grad()
        loss.backward()
        optimizer.step()
    return model.eval()


@pytest.fixture(scope="module")
def study(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A repository root as the pipeline leaves it: two fold models, a summary, and test PNGs."""
    root = tmp_path_factory.mktemp("study")
    train = load_split(RAW, "train")
    family, config = parse_config(TINY, "tiny")
    threads = torch.get_num_threads()
    torch.set_num_threads(1)  # tiny batches: threads only contend on a shared machine
    try:
        for fold in (0, 1):
            part = slice(fold * 2000, (fold + 1) * 2000)
            model = train_tiny(train.images[part], train.labels[part], seed=fold)
            save_model(root / "models" / "tiny" / f"fold{fold}.pt", "tiny", family, config, model, fold=fold)
    finally:
        torch.set_num_threads(threads)
    write_json(root / "metrics" / "summary.json", {"best_model": "tiny", "folds": 2, "models": {}})
    write_records(root, "tiny", (0, 1), cv_folds=2)
    (root / "images").mkdir()
    for i, image in enumerate(load_split(RAW, "t10k").images[:N_IMAGES]):
        Image.fromarray(image).save(root / "images" / f"test{i:02d}.png")
    return root


@pytest.fixture
def in_study(study: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    monkeypatch.chdir(study)
    return study


def pngs() -> list[str]:
    return [f"images/test{i:02d}.png" for i in range(N_IMAGES)]


def evaluate_stage_probs(*model_files: str) -> np.ndarray:
    """What the evaluate stage computes for the first N_IMAGES official test images."""
    images = torch.from_numpy(load_split(RAW, "t10k").images[:N_IMAGES].copy())
    runtime = resolve_runtime("cpu", "fp32")
    probs = [torch.softmax(predict_logits(load_model(f)[0], images, runtime), dim=1) for f in model_files]
    return torch.stack(probs).mean(dim=0).numpy()  # fold ensemble: mean of the fold models' softmax


def predict(capsys: pytest.CaptureFixture, *argv: str) -> tuple[int, str, str]:
    try:
        code = main(["predict", *CPU_FP32, *argv])
    except SystemExit as exc:  # exit_on_error: a user error ends the whole call
        code = exc.code
    captured = capsys.readouterr()
    return code, captured.out, captured.err


def assert_matches(results: list[dict], expected: np.ndarray) -> None:
    assert len(results) == len(expected)
    for result, probs in zip(results, expected):
        np.testing.assert_allclose(result["probabilities"], probs, atol=1e-5, rtol=0)
        assert result["top"][0]["class"] == CLASSES[int(probs.argmax())]


def test_test_set_pngs_get_the_evaluate_stages_ensemble_probabilities(in_study: Path, capsys) -> None:
    code, out, err = predict(capsys, "--json", *pngs())
    assert (code, err) == (0, "")
    report = json.loads(out)
    assert report["model"] == "tiny" and report["classes"] == list(CLASSES)
    assert report["files"] == ["models/tiny/fold0.pt", "models/tiny/fold1.pt"]
    expected = evaluate_stage_probs("models/tiny/fold0.pt", "models/tiny/fold1.pt")
    assert len(set(expected.argmax(axis=1))) > 2  # a model that tells images apart, not a constant
    assert [r["file"] for r in report["results"]] == pngs()
    assert_matches(report["results"], expected)


def test_one_model_file_gets_that_models_probabilities(in_study: Path, capsys) -> None:
    code, out, _ = predict(capsys, "--json", "--model", "models/tiny/fold1.pt", *pngs())
    assert code == 0 and json.loads(out)["files"] == ["models/tiny/fold1.pt"]
    assert_matches(json.loads(out)["results"], evaluate_stage_probs("models/tiny/fold1.pt"))


def test_text_output_lists_the_top_classes(in_study: Path, capsys) -> None:
    code, out, _ = predict(capsys, "--model", "tiny", "--top", "2", *pngs()[:3])
    expected = evaluate_stage_probs("models/tiny/fold0.pt", "models/tiny/fold1.pt")[:3]
    lines = out.splitlines()
    assert code == 0 and lines[0] == "model tiny: ensemble of 2 fold models from models/tiny" and len(lines) == 6
    assert lines[1] == "  files: fold0.pt, fold1.pt"
    assert lines[2].startswith("  trained: 2 epochs, batch 128, lr 0.003, no augmentation, bfloat16 on cpu; data: 100%")
    for line, path, probs in zip(lines[3:], pngs(), expected):
        first, second = np.argsort(-probs)[:2]
        assert line == f"{path}: {CLASSES[first]} {probs[first]:.4f}, {CLASSES[second]} {probs[second]:.4f}"


@pytest.mark.parametrize(
    ("make", "words"),
    [
        (lambda p: p.write_text("hello"), "not an image file"),
        (lambda p: p.write_bytes(Path("images/test00.png").read_bytes()[:150]), "truncated or corrupt"),
        (lambda p: p.write_bytes(png_header_only(100_000, 100_000)), "size limit"),
        (lambda p: p.write_bytes(png_header_only(9_000, 9_000)), "over the limit"),
        (lambda p: p.touch(), "empty file"),
        (lambda p: p.mkdir(), "is a directory"),
        (lambda p: None, "no such file"),
    ],
    ids=["not-image", "truncated", "bomb", "over-limit", "empty", "directory", "missing"],
)
def test_a_bad_file_is_reported_and_the_others_still_predicted(
    in_study: Path, capsys, tmp_path: Path, make, words: str
) -> None:
    bad = tmp_path / "bad.png"
    make(bad)
    code, out, err = predict(capsys, pngs()[0], str(bad), pngs()[1])
    assert code == 1
    assert err.splitlines() == [err.strip()] and err.startswith(f"error: {bad}:") and words in err
    assert [line.split(":")[0] for line in out.splitlines()[3:]] == pngs()[:2]


def test_json_reports_errors_beside_the_predictions(in_study: Path, capsys, tmp_path: Path) -> None:
    (tmp_path / "notes.txt").write_text("not an image")
    files = [pngs()[0], str(tmp_path / "notes.txt"), str(tmp_path / "gone.png"), pngs()[1]]
    code, out, err = predict(capsys, "--json", *files)
    results = json.loads(out)["results"]
    assert code == 1 and len(err.splitlines()) == 2
    assert [r["file"] for r in results] == files
    assert "not an image file" in results[1]["error"] and "no such file" in results[2]["error"]
    expected = evaluate_stage_probs("models/tiny/fold0.pt", "models/tiny/fold1.pt")
    assert_matches([results[0], results[3]], expected[:2])


@pytest.mark.parametrize(
    ("argv", "words"),
    [
        (["--model", "cnn32"], "models/cnn32: no trained model files fold*.pt (models there: tiny)"),
        (["--model", "models/tiny/fold7.pt"], "models/tiny/fold7.pt: model file not found"),
        (["--summary", "elsewhere.json"], "elsewhere.json: not found"),
        (["--models-dir", "nowhere"], "nowhere/tiny: no trained model files"),
    ],
)
def test_a_missing_model_is_one_line_and_fails(in_study: Path, capsys, argv: list[str], words: str) -> None:
    code, out, err = predict(capsys, *argv, *pngs()[:2])
    assert code == 1 and out == "" and err.count("\n") == 1 and err.startswith("error: ") and words in err


def test_explain_saves_an_occlusion_map_beside_each_image(in_study: Path, capsys, tmp_path: Path) -> None:
    image = tmp_path / "shirt.png"
    shutil.copy(pngs()[0], image)
    code, out, _ = predict(capsys, "--json", "--explain", str(image))
    result = json.loads(out)["results"][0]
    assert code == 0 and result["saliency"] == str(tmp_path / "shirt.png.saliency.png")
    with Image.open(result["saliency"]) as picture:
        assert picture.format == "PNG" and picture.size == (720, 390)


def test_installed_command(in_study: Path, tmp_path: Path) -> None:
    """The console script pip installs, run as a new user would."""
    script = Path(sys.executable).with_name("cnnlstm")
    if not script.is_file():
        pytest.skip("cnnlstm script not installed: pip install -e .")
    (tmp_path / "empty.png").touch()
    proc = subprocess.run(
        [str(script), "predict", *CPU_FP32, "--json", pngs()[0], str(tmp_path / "empty.png"), pngs()[1]],
        capture_output=True, text=True, timeout=120,
    )
    assert proc.returncode == 1 and proc.stderr == f"error: {tmp_path / 'empty.png'}: empty file\n"
    results = json.loads(proc.stdout)["results"]
    expected = evaluate_stage_probs("models/tiny/fold0.pt", "models/tiny/fold1.pt")
    assert_matches([results[0], results[2]], expected[:2])
