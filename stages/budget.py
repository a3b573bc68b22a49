"""Stage budget: metrics/budgets/<E>ep*.json (one study summary per training budget) ->
reports/budget/{budget.md,budget.csv,budget_comparisons.csv} and
plots/budget/{accuracy_vs_budget.png,paired_differences.png,budget.csv}."""

from pathlib import Path

from cnnlstm.core.atomic import write_text
from cnnlstm.core.errors import exit_on_error
from cnnlstm.figures.figures import save
from cnnlstm.figures.budget_figure import budget_figure
from cnnlstm.figures.paired_figure import pair_points, paired_figure
from cnnlstm.study.budget import load_budget_points, write_budget_tables

BUDGETS = Path("metrics/budgets")
TABLES = Path("reports/budget")
PLOTS = Path("plots/budget")


@exit_on_error
def main() -> None:
    points = load_budget_points(BUDGETS)
    table, comparisons = write_budget_tables(TABLES, points)
    write_text(PLOTS / "budget.csv", table.to_csv(index=False))  # for `dvc plots show/diff`
    proposed = points[next(reversed(points))]["proposed_model"]  # the latest point's
    save(budget_figure(table, proposed), PLOTS / "accuracy_vs_budget.png")
    pairs = [row for name, summary in points.items() for row in pair_points(summary, name)]
    margin = points[next(reversed(points))]["equivalence_margin"]
    save(paired_figure(pairs, margin, proposed), PLOTS / "paired_differences.png")
    print(f"{TABLES}/budget.md: {len(points)} budget points ({', '.join(points)}), "
          f"{table['model'].nunique()} models, {len(comparisons)} paired comparisons")


if __name__ == "__main__":
    main()
