"""Stage collect: every run's small files, from the cached outputs of train and evaluate, into git
(logs/train/, metrics/runs/, metrics/timings/). cnnlstm/collect.py says why.

`--incomplete MODEL ...` (by hand, between sittings of a study trained in parts, as for aggregate) skips
those models' runs not trained and evaluated yet. DVC runs it without."""

import argparse
from pathlib import Path

from cnnlstm.collect import CollectPaths, collect
from cnnlstm.core.errors import exit_on_error
from cnnlstm.core.params import load_params


@exit_on_error
def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--incomplete", nargs="+", default=[], metavar="MODEL",
                        help="models whose runs may not be done yet")
    args = parser.parse_args()
    params = load_params()
    paths = CollectPaths(runs=Path("runs"), results=Path("results"), train_logs=Path("logs/train"),
                         metrics=Path("metrics/runs"), timings=Path("metrics/timings"))
    copied = collect(paths, params.all_models, params.cv.fold_ids, tuple(args.incomplete))
    print(f"collect: {copied} files and folders of {len(params.all_models)} models x {len(params.cv.fold_ids)} folds")


if __name__ == "__main__":
    main()
