"""Stage train: one model on one fold. Usage: python stages/train.py MODEL FOLD"""

import argparse
from pathlib import Path

from cnnlstm.core.atomic import atomic_dir
from cnnlstm.core.errors import CnnLstmError, exit_on_error
from cnnlstm.core.params import check_devices, load_params
from cnnlstm.training.run import RunPaths, train_run


@exit_on_error
def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("model")
    parser.add_argument("fold", type=int)
    args = parser.parse_args()
    params = load_params()
    check_devices(params)  # eval's too: no model trains for an evaluation that cannot run here
    if args.model not in params.all_models:
        raise CnnLstmError(f"unknown model {args.model!r}; known models: {', '.join(params.all_models)}")
    log_dir = Path(f"runs/{args.model}/fold{args.fold}")  # cached; stage collect copies it to logs/train/
    # dvclive writes its folder as training goes: it writes a temporary one, swapped in whole once the
    # run has succeeded, so a failed or interrupted run leaves no half-written log.
    with atomic_dir(log_dir) as tmp_log_dir:
        paths = RunPaths(
            raw_dir=Path("data/raw"),
            folds=Path("data/folds.npy"),
            model_file=Path(f"models/{args.model}/fold{args.fold}.pt"),
            log_dir=tmp_log_dir,
            checkpoint=Path(f"checkpoints/{args.model}-fold{args.fold}.pt"),
        )
        summary = train_run(params, args.model, args.fold, paths)
    print(
        f"{paths.model_file}: epoch {summary['best_epoch']} selected, val_acc {summary['best_val_acc']:.4f}, "
        f"{summary['train_seconds']:.0f}s on {summary['device']} ({summary['amp']})"
    )


if __name__ == "__main__":
    main()
