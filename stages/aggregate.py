"""Stage aggregate: every model's folds -> metrics/summary.json, the headline metrics DVC shows
(metrics/accuracy.json, metrics/models/) and reports/tables/*.{csv,md}.

`--incomplete MODEL ...` (by hand, between sittings of a study trained in parts) lets those models lack
folds not run yet: they are reported as incomplete, none of their pairs is judged. DVC runs it without."""

import argparse
from pathlib import Path

from cnnlstm.core.atomic import atomic_dir, write_json
from cnnlstm.core.errors import exit_on_error
from cnnlstm.study.aggregate import summarize
from cnnlstm.study.headline import write_headline
from cnnlstm.study.runs import StudyPaths, fold_sizes, load_runs
from cnnlstm.study.tables import write_tables
from cnnlstm.core.params import load_params


@exit_on_error
def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--incomplete", nargs="+", default=[], metavar="MODEL",
                        help="models that may lack folds (runs not made yet)")
    args = parser.parse_args()
    params = load_params()
    paths = StudyPaths()
    folds_sha, study, incomplete = load_runs(paths, params.all_models, params.cv.fold_ids, tuple(args.incomplete))
    sizes = fold_sizes(paths.folds, [run.train_log for runs in study.values() for run in runs])
    summary, ensembles, comparisons = summarize(params, folds_sha, study, sizes, incomplete)
    families = {name: family for name, (family, _) in params.configs.items()}
    with atomic_dir(Path("reports/tables")) as tables:  # swapped in whole: never some tables new, some old
        write_tables(tables, summary, study, ensembles, comparisons, families)
    write_json("metrics/summary.json", summary)
    write_headline(summary)
    best = summary["best_model"]
    accuracy = summary["models"][best]["cv"]["accuracy"]
    print(
        f"metrics/summary.json: {len(study)} models x {summary['folds']} folds; best {best} "
        f"{accuracy['mean']:.4f} ± {accuracy['std']:.4f} held-out accuracy; primary "
        f"{summary['primary']['model']} vs {summary['primary']['baseline']}: {summary['primary']['verdict']}"
        + "".join(f"; {name} {entry['label']}" for name, entry in summary["incomplete"].items())
    )


if __name__ == "__main__":
    main()
