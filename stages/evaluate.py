"""Stage evaluate: every fold's predictions, metrics and timings of one model.
Usage: python stages/evaluate.py MODEL

One stage per model rather than per run: the ten folds share one process start-up (imports cost
seconds; the study has ten models x ten folds)."""

import argparse
from pathlib import Path

from cnnlstm.core.atomic import atomic_dir
from cnnlstm.core.errors import CnnLstmError, exit_on_error
from cnnlstm.evaluation.evaluate import EvalPaths, evaluate_fold
from cnnlstm.core.params import load_params


@exit_on_error
def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("model")
    args = parser.parse_args()
    params = load_params()  # eval.device/precision are checked by evaluate_fold; train's are not
    # needed here: a CPU without native bf16 evaluates runs trained in bf16 elsewhere
    if args.model not in params.all_models:
        raise CnnLstmError(f"unknown model {args.model!r}; known models: {', '.join(params.all_models)}")
    # All cached (a run-cache entry needs that; stage collect copies the json files into git), and the
    # folder is swapped in whole once every fold is done: an interrupted or failed run leaves no mix.
    with atomic_dir(Path(f"results/{args.model}")) as results:
        for fold in params.cv.fold_ids:
            run = f"{args.model}/fold{fold}"
            paths = EvalPaths(
                raw_dir=Path("data/raw"),
                folds=Path("data/folds.npy"),
                model_file=Path(f"models/{run}.pt"),
                train_summary=Path(f"runs/{run}/run.json"),
                predictions=results / f"fold{fold}.npz",
                metrics=results / f"fold{fold}.metrics.json",
                timings=results / f"fold{fold}.timings.json",
            )
            metrics = evaluate_fold(params.eval, args.model, fold, paths, tsne=fold == params.cv.fold_ids[0])
            held, test = metrics["heldout"], metrics["test"]
            print(f"results/{run}.metrics.json: held-out accuracy {held['accuracy']:.4f}, test accuracy {test['accuracy']:.4f}")


if __name__ == "__main__":
    main()
