"""Stage evaluate: every fold's predictions, metrics and timings of one model.
Usage: python stages/evaluate.py MODEL

One stage per model rather than per run: the ten folds share one process start-up (imports cost
seconds; the study has ten models x ten folds)."""

import argparse
import contextlib
from pathlib import Path

from cnnlstm.core.atomic import atomic_dir
from cnnlstm.core.errors import CnnLstmError, exit_on_error
from cnnlstm.evaluation.evaluate import EvalPaths, evaluate_fold
from cnnlstm.core.params import check_devices, load_params


@exit_on_error
def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("model")
    args = parser.parse_args()
    params = load_params()
    check_devices(params)
    if args.model not in params.all_models:
        raise CnnLstmError(f"unknown model {args.model!r}; known models: {', '.join(params.all_models)}")
    # Each output folder is swapped in whole once every fold is done: an interrupted or failed run
    # leaves none of them with some folds new and some old.
    outputs = [Path(f"{folder}/{args.model}") for folder in ("results", "metrics/runs", "metrics/timings")]
    with contextlib.ExitStack() as stack:
        predictions, runs, timings = (stack.enter_context(atomic_dir(folder)) for folder in outputs)
        for fold in params.cv.fold_ids:
            run = f"{args.model}/fold{fold}"
            paths = EvalPaths(
                raw_dir=Path("data/raw"),
                folds=Path("data/folds.npy"),
                model_file=Path(f"models/{run}.pt"),
                train_summary=Path(f"logs/train/{run}/run.json"),
                predictions=predictions / f"fold{fold}.npz",
                metrics=runs / f"fold{fold}.json",
                timings=timings / f"fold{fold}.json",
            )
            metrics = evaluate_fold(params.eval, args.model, fold, paths)
            held, test = metrics["heldout"], metrics["test"]
            print(f"metrics/runs/{run}.json: held-out accuracy {held['accuracy']:.4f}, test accuracy {test['accuracy']:.4f}")


if __name__ == "__main__":
    main()
