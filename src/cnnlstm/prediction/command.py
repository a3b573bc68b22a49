"""`cnnlstm predict IMAGE...`: top classes of each image, as text or JSON; one bad file never
stops the others, but makes the exit status non-zero."""

from __future__ import annotations

import argparse
import json
import sys
from pathlib import Path
from typing import Any

import numpy as np
import torch

from cnnlstm.data.fashion_mnist import CLASSES
from cnnlstm.core.errors import CnnLstmError
from cnnlstm.prediction.explain import occlusion_map, saliency_path, save_explanation
from cnnlstm.prediction.images import DEFAULT_MAX_PIXELS, read_image
from cnnlstm.prediction.models import Predictor, Sources, load_predictor
from cnnlstm.prediction.preprocess import INVERT_CHOICES, to_fashion_mnist
from cnnlstm.core.runtime import resolve_runtime

HELP = "classify image files with a trained model of the study"
DESCRIPTION = """\
Classify image files (PNG, JPEG or any other format Pillow reads) with a trained model of the
study: by default the best model of metrics/summary.json, as the ensemble of its fold models
(models/NAME/, or where none are trained here the copy shipped with the clone, pretrained/NAME/).
Each picture is made to look like a Fashion-MNIST image first: grayscale, a light background
inverted, cropped to the object, longest side scaled to 28 pixels, sharpened, centred on 28x28.
A 28x28 image is only inverted if its background is light: a dataset image is used exactly as it is.
It says which files it uses and where they came from (recipe, data slice, folds, commit; from the
run records metrics/runs/ and logs/train/, or pretrained/manifest.json), and refuses an ensemble
with fewer folds than the study's (an interrupted run) or trained on a slice of the data (a smoke
or small experiment) unless --allow-partial / --allow-slice accept it.

examples:
  cnnlstm predict shoe.jpg shirt.png
  cnnlstm predict --model cnn32 --top 5 --json photos/*.jpg
  cnnlstm predict --model cnn32_lstm shirt.png        # the proposed model, shipped too
  cnnlstm predict --model models/cnn32/fold0.pt --invert no --explain scan.png
"""


def _positive_int(text: str) -> int:
    value = int(text)
    if value <= 0:
        raise argparse.ArgumentTypeError(f"must be > 0, got {value}")
    return value


def add_arguments(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("images", nargs="+", type=Path, metavar="IMAGE",
                        help="image files (PNG, JPEG, any Pillow format)")
    parser.add_argument("--model", metavar="NAME|FILE", help=(
        "a model name (the ensemble of MODELS_DIR/NAME/fold*.pt) or one .pt file; default: best_model of --summary"))
    parser.add_argument("--top", type=int, default=3, choices=range(1, len(CLASSES) + 1), metavar="K",
                        help="classes shown per image (1-10, default 3)")
    parser.add_argument("--json", action="store_true", help="print one JSON object instead of text")
    parser.add_argument("--invert", choices=INVERT_CHOICES, default="auto",
                        help="make a light background dark like Fashion-MNIST's (auto: judged from the border)")
    parser.add_argument("--explain", action="store_true",
                        help="save an occlusion map as IMAGE.saliency.png beside each image")
    parser.add_argument("--models-dir", type=Path, default=Path("models"), help="default: models")
    parser.add_argument("--shipped-dir", type=Path, default=Path("pretrained"),
                        help="the model shipped with the clone, used when MODELS_DIR has none (default: pretrained)")
    parser.add_argument("--summary", type=Path, default=Path("metrics/summary.json"),
                        help="default: metrics/summary.json")
    parser.add_argument("--runs-dir", type=Path, default=Path("metrics/runs"),
                        help="the evaluate stage's run records (data slice; default: metrics/runs)")
    parser.add_argument("--train-logs", type=Path, default=Path("logs/train"),
                        help="the train stage's run records (recipe; default: logs/train)")
    parser.add_argument("--allow-partial", action="store_true",
                        help="use an ensemble with fewer fold models than the study's folds")
    parser.add_argument("--allow-slice", action="store_true",
                        help="use models trained or evaluated on a slice of the data (cv.subset or test_subset < 1)")
    parser.add_argument("--max-pixels", type=_positive_int, default=DEFAULT_MAX_PIXELS,
                        help=f"refuse larger images (default {DEFAULT_MAX_PIXELS})")
    parser.add_argument("--device", choices=("auto", "cpu", "cuda"), default="auto", help="auto: CUDA when present")
    parser.add_argument("--precision", choices=("auto", "fp32", "bf16"), default="auto",
                        help="auto: bf16 where the hardware has it, as the evaluate stage does")


def _result(
    path: Path, image: np.ndarray, probs: torch.Tensor, predictor: Predictor, args: argparse.Namespace
) -> dict[str, Any]:
    """One file's top classes and all ten probabilities; with --explain, its saved occlusion map."""
    order = torch.argsort(probs, descending=True)[: args.top].tolist()
    result: dict[str, Any] = {
        "file": str(path),
        "top": [{"class": CLASSES[k], "index": k, "probability": float(probs[k])} for k in order],
        "probabilities": [float(p) for p in probs],
    }
    if args.explain:
        target = saliency_path(path)
        top = order[0]
        save_explanation(target, image, occlusion_map(predictor.probabilities, image, top), CLASSES[top],
                         float(probs[top]), predictor.name)
        result["saliency"] = str(target)
    return result


def _text(result: dict[str, Any]) -> str:
    ranked = ", ".join(f"{t['class']} {t['probability']:.4f}" for t in result["top"])
    return f"{result['file']}: {ranked}" + (f"  (saliency: {result['saliency']})" if "saliency" in result else "")


def _report(predictor: Predictor, results: list[dict[str, Any]], as_json: bool) -> None:
    for result in results:
        if "error" in result:
            print(f"error: {result['error']}", file=sys.stderr)
    if as_json:
        report = {"model": predictor.name, "source": predictor.source, "files": [str(f) for f in predictor.files],
                  "provenance": predictor.provenance.as_dict(), "classes": list(CLASSES), "results": results}
        print(json.dumps(report, indent=2))
        return
    files = predictor.files
    kind = f"ensemble of {len(files)} fold models" if len(files) > 1 else "one model file"
    print(f"model {predictor.name}: {kind} from {predictor.source}")
    print(f"  files: {', '.join(f.name for f in files)}")
    print(f"  trained: {predictor.provenance.describe()}")
    for result in results:
        if "error" not in result:
            print(_text(result))


def run(args: argparse.Namespace) -> int:
    """Predict every readable image; report each unreadable one on stderr; 1 if any failed."""
    if args.device == "cuda" and not torch.cuda.is_available():
        raise CnnLstmError("--device cuda: no CUDA device is available")
    runtime = resolve_runtime(args.device, args.precision)
    where = Sources(args.models_dir, args.shipped_dir, args.summary, args.runs_dir, args.train_logs, Path("dvc.lock"))
    predictor = load_predictor(args.model, where, runtime, args.allow_partial, args.allow_slice)

    inputs: list[np.ndarray | CnnLstmError] = []  # per file: the (28, 28) uint8 model input, or why not
    for path in args.images:
        try:
            inputs.append(to_fashion_mnist(read_image(path, args.max_pixels), args.invert))
        except CnnLstmError as exc:
            inputs.append(exc)
    readable = [image for image in inputs if isinstance(image, np.ndarray)]
    # One batch for all files: the same batched inference the evaluate stage runs.
    probs = iter(predictor.probabilities(torch.from_numpy(np.stack(readable))) if readable else [])  # (N, 10)

    results: list[dict[str, Any]] = []
    for path, image in zip(args.images, inputs):
        if isinstance(image, CnnLstmError):
            results.append({"file": str(path), "error": str(image)})
            continue
        try:
            results.append(_result(path, image, next(probs), predictor, args))
        except CnnLstmError as exc:  # the saliency map could not be saved
            results.append({"file": str(path), "error": str(exc)})
    _report(predictor, results, args.json)
    return 1 if any("error" in r for r in results) else 0
