"""`cnnlstm predict`'s work once its model files passed the torch-free check (prediction/command.py):
top classes of each image, as text or JSON; one bad file never stops the others, but makes the exit
status non-zero."""

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
from cnnlstm.prediction.images import read_image
from cnnlstm.prediction.models import Predictor, load_predictor
from cnnlstm.prediction.preprocess import to_fashion_mnist
from cnnlstm.prediction.selection import Selection, Sources
from cnnlstm.core.runtime import resolve_runtime


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


def classify(args: argparse.Namespace, selection: Selection, where: Sources) -> int:
    """Predict every readable image; report each unreadable one on stderr; 1 if any failed."""
    if args.device == "cuda" and not torch.cuda.is_available():
        raise CnnLstmError("--device cuda: no CUDA device is available")
    runtime = resolve_runtime(args.device, args.precision)
    predictor = load_predictor(selection, where, runtime, args.allow_partial, args.allow_slice)

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
