"""The README publishes the committed study: its headline table must be the generated one."""

from __future__ import annotations

from conftest import REPO

MARKER = "<!-- headline table: a copy of reports/tables/models.md"


def _table_after(text: str, marker: str) -> str:
    lines = text[text.index(marker):].splitlines()[1:]
    table = []
    for line in lines:
        if not line.startswith("|"):
            break
        table.append(line)
    return "\n".join(table)


def test_readme_headline_table_is_the_committed_models_table() -> None:
    readme = (REPO / "README.md").read_text()
    generated = (REPO / "reports" / "tables" / "models.md").read_text().strip()
    assert MARKER in readme
    assert _table_after(readme, MARKER) == generated, (
        "README's headline table differs from reports/tables/models.md: "
        "copy the new table into README.md after a study run")


BUDGET_MARKER = "<!-- budget table: a copy of the first table of reports/budget/budget.md"


def test_readme_budget_table_is_the_generated_one() -> None:
    """The accuracy-against-budget table (held-out accuracy per model at each budget point) and its
    figure are the budget stage's outputs, not hand-copied numbers."""
    readme = (REPO / "README.md").read_text()
    generated = (REPO / "reports" / "budget" / "budget.md").read_text()
    first_table = generated[generated.index("\n|") + 1:]
    assert BUDGET_MARKER in readme
    assert _table_after(readme, BUDGET_MARKER) == _table_after("x\n" + first_table, "x"), (
        "README's budget table differs from reports/budget/budget.md: copy the new table after `dvc repro budget`")
    assert "](plots/budget/accuracy_vs_budget.png)" in readme and (REPO / "plots/budget/accuracy_vs_budget.png").is_file()


SEEDS_MARKER = "<!-- seed tables: copies of the first two tables of reports/seeds/seeds.md"


def _tables(text: str) -> list[str]:
    """Every markdown table in `text`, in order."""
    tables, current = [], []
    for line in text.splitlines() + [""]:
        if line.startswith("|"):
            current.append(line)
        elif current:
            tables.append("\n".join(current))
            current = []
    return tables


def test_readme_seed_tables_are_the_generated_ones() -> None:
    """The seed-variance tables (fold and seed spread per model; the LSTM question at every seed) are the
    seeds stage's outputs, not hand-copied numbers."""
    readme = (REPO / "README.md").read_text()
    generated = _tables((REPO / "reports" / "seeds" / "seeds.md").read_text())
    assert SEEDS_MARKER in readme
    section = readme[readme.index(SEEDS_MARKER):]
    section = section[:section.index("\n#")] if "\n#" in section else section
    assert _tables(section) == generated[:2], (
        "README's seed tables differ from reports/seeds/seeds.md: copy them after `dvc repro seeds`")
    assert "](plots/seeds/" in section
