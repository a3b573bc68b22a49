"""`cnnlstm predict IMAGE...`: its arguments, and the model files it will load checked before torch
is imported (nothing here imports torch); prediction/classify.py does the rest."""

from __future__ import annotations

import argparse
from pathlib import Path

from cnnlstm.data.fashion_mnist import CLASSES
from cnnlstm.prediction.archive import check_archive
from cnnlstm.prediction.images import DEFAULT_MAX_PIXELS
from cnnlstm.prediction.preprocess import INVERT_CHOICES
from cnnlstm.prediction.selection import Sources, resolve_model

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


def run(args: argparse.Namespace) -> int:
    """Check every model file the command will load, then classify the images with them."""
    where = Sources(args.models_dir, args.shipped_dir, args.summary, args.runs_dir, args.train_logs, Path("dvc.lock"))
    selection = resolve_model(args.model, where)
    for path in selection.files:
        check_archive(path)
    # Imported only now: torch alone is ~640 MB resident, and a zip bomb is to be refused in a fraction
    # of that (issue 29: under 200 MB peak).
    from cnnlstm.prediction.classify import classify

    return classify(args, selection, where)
