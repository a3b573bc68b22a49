"""Stage aggregate: every model's folds -> metrics/summary.json, the headline metrics DVC shows
(metrics/accuracy.json, metrics/models/) and reports/tables/*.{csv,md}."""

from pathlib import Path

from cnnlstm.core.atomic import atomic_dir, write_json
from cnnlstm.core.errors import exit_on_error
from cnnlstm.study.aggregate import summarize
from cnnlstm.study.headline import write_headline
from cnnlstm.study.runs import StudyPaths, fold_sizes, load_study
from cnnlstm.study.tables import write_tables
from cnnlstm.core.params import load_params


@exit_on_error
def main() -> None:
    params = load_params()
    paths = StudyPaths()
    folds_sha, study = load_study(paths, params.all_models, params.cv.fold_ids)
    n_train, n_test = fold_sizes(paths.folds)
    summary, ensembles, comparisons = summarize(params, folds_sha, study, n_train, n_test)
    families = {name: family for name, (family, _) in params.configs.items()}
    with atomic_dir(Path("reports/tables")) as tables:  # swapped in whole: never some tables new, some old
        write_tables(tables, summary, study, ensembles, comparisons, families)
    write_json("metrics/summary.json", summary)
    write_headline(summary)
    best = summary["best_model"]
    accuracy = summary["models"][best]["cv"]["accuracy"]
    print(
        f"metrics/summary.json: {len(study)} models x {summary['folds']} folds; best {best} "
        f"{accuracy['mean']:.4f} ± {accuracy['std']:.4f} held-out accuracy"
    )


if __name__ == "__main__":
    main()
