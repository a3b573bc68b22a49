"""Stage budget: metrics/budgets/<E>ep*.json (one study summary per training budget) ->
reports/budget/{budget.md,budget.csv,budget_comparisons.csv} and plots/budget/{accuracy_vs_budget.png,budget.csv}."""

from pathlib import Path

from cnnlstm.core.atomic import write_text
from cnnlstm.core.errors import exit_on_error
from cnnlstm.figures.figures import save
from cnnlstm.figures.budget_figure import budget_figure
from cnnlstm.study.budget import load_budget_points, write_budget_tables

BUDGETS = Path("metrics/budgets")
TABLES = Path("reports/budget")
PLOTS = Path("plots/budget")


@exit_on_error
def main() -> None:
    points = load_budget_points(BUDGETS)
    table, comparisons = write_budget_tables(TABLES, points)
    write_text(PLOTS / "budget.csv", table.to_csv(index=False))  # for `dvc plots show/diff`
    save(budget_figure(table), PLOTS / "accuracy_vs_budget.png")
    print(f"{TABLES}/budget.md: {len(points)} budget points ({', '.join(points)}), "
          f"{table['model'].nunique()} models, {len(comparisons)} paired comparisons")


if __name__ == "__main__":
    main()
