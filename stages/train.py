"""Stage train: one model on one fold. Usage: python stages/train.py MODEL FOLD"""

import argparse
from pathlib import Path

from cnnlstm.core.errors import CnnLstmError, exit_on_error
from cnnlstm.core.params import load_params
from cnnlstm.training.run import RunPaths, train_run


@exit_on_error
def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("model")
    parser.add_argument("fold", type=int)
    args = parser.parse_args()
    params = load_params()
    if args.model not in params.all_models:
        raise CnnLstmError(f"unknown model {args.model!r}; known models: {', '.join(params.all_models)}")
    paths = RunPaths(
        raw_dir=Path("data/raw"),
        folds=Path("data/folds.npy"),
        model_file=Path(f"models/{args.model}/fold{args.fold}.pt"),
        log_dir=Path(f"runs/{args.model}/fold{args.fold}"),  # cached; stage collect copies it to logs/train/
        checkpoint=Path(f"checkpoints/{args.model}-fold{args.fold}.pt"),
    )
    summary = train_run(params, args.model, args.fold, paths)
    print(
        f"{paths.model_file}: epoch {summary['best_epoch']} selected, val_acc {summary['best_val_acc']:.4f}, "
        f"{summary['train_seconds']:.0f}s on {summary['device']} ({summary['amp']})"
    )


if __name__ == "__main__":
    main()
