"""Stage plots: figures of the study -> plots/figures/*.png and their data -> plots/data/*.csv."""

from pathlib import Path

from cnnlstm.core.errors import exit_on_error
from cnnlstm.figures.plots import make_plots
from cnnlstm.study.runs import StudyPaths, load_runs
from cnnlstm.study.summary_file import read_study_summary
from cnnlstm.core.params import load_params


@exit_on_error
def main() -> None:
    params = load_params()
    paths = StudyPaths()
    summary, incomplete = read_study_summary(Path("metrics/summary.json"), params.all_models)
    _, study, _ = load_runs(paths, params.all_models, params.cv.fold_ids, incomplete)
    written = make_plots(summary, study, paths, params.cv.fold_ids, Path("plots/figures"), Path("plots/data"))
    print(f"plots/figures: {len(written)} figures; plots/data: their data for `dvc plots show`")


if __name__ == "__main__":
    main()
