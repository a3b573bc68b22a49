"""Stage collect: every run's small files, from the cached outputs of train and evaluate, into git
(logs/train/, metrics/runs/, metrics/timings/). cnnlstm/collect.py says why."""

from pathlib import Path

from cnnlstm.collect import CollectPaths, collect
from cnnlstm.core.errors import exit_on_error
from cnnlstm.core.params import load_params


@exit_on_error
def main() -> None:
    params = load_params()
    paths = CollectPaths(runs=Path("runs"), results=Path("results"), train_logs=Path("logs/train"),
                         metrics=Path("metrics/runs"), timings=Path("metrics/timings"))
    copied = collect(paths, params.all_models, params.cv.fold_ids)
    print(f"collect: {copied} files and folders of {len(params.all_models)} models x {len(params.cv.fold_ids)} folds")


if __name__ == "__main__":
    main()
