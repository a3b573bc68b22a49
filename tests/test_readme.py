"""The README publishes the committed study: its headline table must be the generated one."""

from __future__ import annotations

import re

import yaml

from cnnlstm.store_outputs import done_runs
from cnnlstm.study.extension import extension_epochs
from cnnlstm.study.fp32_arm import ARM_OVERRIDE
from conftest import REPO
from test_study_queue import queue

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


# The targets of the converged study's issue and the brief's reference figure: fixed in advance, not results.
TARGETS = {"93.5", "94.3", "90.0", "88.46"}
DECIMAL = re.compile(r"(?<![\w.])[+-]?\d+\.\d+(?!\d)")
GENERATED_REPORTS = ["reports/REPORT.md", "reports/budget/budget.md", "reports/seeds/seeds.md",
                     "reports/tables/models.md"]


def _answer_prose(readme: str) -> str:
    """The answer's paragraphs (up to the report link) and the targets paragraph under the table."""
    answer = readme[readme.index("\n## The answer"):readme.index("The report, for a supervisor")]
    targets = readme[readme.index("\nTargets set for"):readme.index("\n### Accuracy against training budget")]
    return (answer + targets).replace("−", "-")


def test_every_number_in_the_readme_answer_is_a_generated_one() -> None:
    """The answer is prose, but its numbers are not hand-copied: each decimal, sign included, is one
    the pipeline wrote into a report (a rerun that changes a number fails here until the prose follows)."""
    generated = "\n".join((REPO / path).read_text() for path in GENERATED_REPORTS).replace("−", "-")
    written = set(DECIMAL.findall(generated))
    prose = DECIMAL.findall(_answer_prose((REPO / "README.md").read_text()))
    assert len(prose) > 20, "README's answer section was not found or holds no numbers"
    missing = [n for n in prose if n not in written and n.lstrip("+") not in TARGETS]
    assert not missing, f"README's answer has numbers no generated report holds: {missing}"


COMMITTED = re.compile(r"(\d+) of their (\d+) runs are\s+committed")


def test_readme_counts_the_committed_runs_of_what_is_still_open() -> None:
    """"N of their M runs are committed", for Amendment 1's extension, the other seeds and Amendment 2's
    fp32 arm, is counted from the queue's list and the store (`cnnlstm.store_outputs --done`), not kept by
    hand."""
    result = queue(REPO, "--list")
    assert result.returncode == 0, result.stderr
    listed = result.stdout.splitlines()
    done = set(done_runs(REPO / "dvcstore", listed, REPO / "dvc.lock"))
    epochs = yaml.safe_load((REPO / "params.yaml").read_text())["train"]["epochs"]
    groups = [[line for line in listed if line.endswith(f" train.epochs={extension_epochs(epochs)}")],
              [line for line in listed if " train.seed=" in line],
              [line for line in listed if line.endswith(f" {ARM_OVERRIDE}")]]
    readme = (REPO / "README.md").read_text()
    still_open = readme[readme.index("**What is still open.**"):]
    counted = [(len(done.intersection(group)), len(group)) for group in groups]
    assert [tuple(map(int, pair)) for pair in COMMITTED.findall(still_open)[:3]] == counted, (
        f"README's 'What is still open' should say {counted} (committed, listed) runs")
