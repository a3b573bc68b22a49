"""Stage split: stratified K-fold assignment of the 60,000 training images -> data/folds.npy."""

import numpy as np

from cnnlstm.data.fashion_mnist import load_split
from cnnlstm.data.folds import assign_folds, save_folds
from cnnlstm.core.errors import exit_on_error
from cnnlstm.core.params import load_params


@exit_on_error
def main() -> None:
    cv = load_params().cv
    labels = load_split("data/raw", "train").labels
    assignment = assign_folds(labels, cv.folds, cv.seed, cv.subset)
    save_folds("data/folds.npy", assignment)
    sizes = np.bincount(assignment[assignment >= 0], minlength=cv.folds)
    print(f"data/folds.npy: {cv.folds} stratified folds of {sizes.min()}-{sizes.max()} images")


if __name__ == "__main__":
    main()
