"""Stage seeds: metrics/seeds/<point>/seed<s>/ (one study point trained again with other training seeds)
-> reports/seeds/{seeds.md,seed_models.csv,seed_comparisons.csv} and plots/seeds/<point>.png."""

from pathlib import Path

from cnnlstm.core.errors import exit_on_error
from cnnlstm.core.params import load_params
from cnnlstm.figures.figures import save
from cnnlstm.figures.seed_figure import seed_figure
from cnnlstm.study.seed_runs import load_seed_studies
from cnnlstm.study.seed_variance import write_seed_tables

SEEDS = Path("metrics/seeds")
TABLES = Path("reports/seeds")
PLOTS = Path("plots/seeds")


@exit_on_error
def main() -> None:
    params = load_params()  # the pre-registered analysis: families, fold sizes, margin
    studies = load_seed_studies(SEEDS)
    models, comparisons = write_seed_tables(TABLES, studies, params)
    for study in studies:
        rows = comparisons[comparisons["point"] == study.point]
        save(seed_figure(study, list(zip(rows["model"], rows["baseline"])), params.model["name"],
                         params.equivalence_margin),
             PLOTS / f"{study.point}.png")
    print(f"{TABLES}/seeds.md: {len(studies)} point(s) ({', '.join(s.point for s in studies)}), "
          f"{len(models)} model rows, {len(comparisons)} comparison rows")


if __name__ == "__main__":
    main()
