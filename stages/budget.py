"""Stage budget: metrics/budgets/<point>/ (per-fold files, scripts/keep_budget.sh) and <point>.json (summary
only) -> reports/budget/{budget.md, budget*.csv} and plots/budget/{accuracy_vs_budget.png,paired_differences.png,budget.csv}.
The families, primary pair, fold sizes and convergence check are params.yaml's pre-registered analysis."""

from pathlib import Path

from cnnlstm.core.atomic import write_text
from cnnlstm.core.errors import exit_on_error
from cnnlstm.core.params import load_params
from cnnlstm.figures.figures import save
from cnnlstm.figures.budget_figure import budget_figure
from cnnlstm.figures.paired_figure import paired_figure, table_points
from cnnlstm.study.budget import write_budget_tables
from cnnlstm.study.budget_points import load_budget_points

BUDGETS = Path("metrics/budgets")
TABLES = Path("reports/budget")
PLOTS = Path("plots/budget")


@exit_on_error
def main() -> None:
    params = load_params()
    points = load_budget_points(BUDGETS)
    table, comparisons, _, interactions, convergence, precision = write_budget_tables(TABLES, points, params)
    write_text(PLOTS / "budget.csv", table.to_csv(index=False))  # for `dvc plots show/diff`
    proposed = params.model["name"]
    save(budget_figure(table, proposed), PLOTS / "accuracy_vs_budget.png")
    save(paired_figure(table_points(comparisons), params.equivalence_margin, proposed),
         PLOTS / "paired_differences.png")
    print(f"{TABLES}/budget.md: {len(points)} budget points ({', '.join(points)}), "
          f"{table['model'].nunique()} models, {len(comparisons)} paired comparisons, "
          f"{len(interactions)} interaction tests, {len(convergence)} convergence checks, "
          f"{len(precision)} precision checks")


if __name__ == "__main__":
    main()
