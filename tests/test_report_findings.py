"""The report's sentences on convergence and on a study between sittings, from the stages' outputs."""

from __future__ import annotations

from pathlib import Path

import pandas as pd
import yaml

from cnnlstm.report.findings import budget_finding, convergence_finding, progress_finding
from conftest import REPO

COLUMNS = ["model", "point_short", "point_long", "accuracy_short", "accuracy_long", "gain", "ci95_low", "ci95_high",
           "p_ttest", "tolerance", "converged", "folds"]


def write_check(path: Path, rows: list[tuple[str, str, float, bool]]) -> Path:
    pd.DataFrame([(model, "15ep-cpu", long, 0.93, 0.93, gain, 0, 0, 0.5, 0.0025, converged, 10)
                  for model, long, gain, converged in rows], columns=COLUMNS).to_csv(path, index=False)
    return path


def test_convergence_is_unchecked_without_a_check_at_the_studys_budget(tmp_path: Path) -> None:
    assert convergence_finding(tmp_path / "missing.csv", 30)[0] is None
    other_budget = write_check(tmp_path / "c.csv", [("cnn32", "10ep-cpu", 0.001, True)])
    converged, sentence = convergence_finding(other_budget, 30)
    assert converged is None and "not checked yet" in sentence and "30-epoch budget" in sentence


def test_one_main_model_still_gaining_means_not_yet_converged(tmp_path: Path) -> None:
    check = write_check(tmp_path / "c.csv", [("cnn32", "30ep-cpu", 0.001, True), ("cnn32_lstm", "30ep-cpu", 0.004, False)])
    converged, sentence = convergence_finding(check, 30)
    assert converged is False and "cnn32_lstm +0.40 pp (not converged)" in sentence and "not yet converged" in sentence
    check = write_check(tmp_path / "c.csv", [("cnn32", "30ep", 0.001, True), ("cnn32_lstm", "30ep", -0.0005, True)])
    assert convergence_finding(check, 30) == (True, "Convergence check, held-out accuracy gain from 15ep-cpu to 30ep: "
                                                    "cnn32 +0.10 pp (converged); cnn32_lstm -0.05 pp (converged); "
                                                    "every main model is converged.")


def test_progress_names_the_models_left_out() -> None:
    assert progress_finding({"incomplete": {}, "runs": {"done": 100, "of": 100}}) is None
    line = progress_finding({"incomplete": {"cnn32_bilstm2d": {"label": "incomplete (0 of 10 folds)"}},
                             "runs": {"done": 90, "of": 100}})
    assert line.startswith("**Study in progress:** 90 of 100 model × fold runs analysed.")
    assert line.endswith(": cnn32_bilstm2d incomplete (0 of 10 folds).")


def test_budget_finding_says_when_the_points_differ_in_more_than_epochs(tmp_path: Path) -> None:
    rows = [{"point": point, "epochs": epochs, "model": "cnn32_lstm", "baseline": "cnn32", "verdict": verdict,
             "mean_diff": diff, "ci95_low": diff - 0.002, "ci95_high": diff + 0.002, "p_ttest_holm": 0.01}
            for point, epochs, verdict, diff in (("2ep-cpu", 2, "worse", -0.0049), ("30ep-cpu", 30, "better", 0.0051))]
    pd.DataFrame(rows).to_csv(tmp_path / "budget_comparisons.csv", index=False)
    for recipes, phrase in ((["plain", "plain"], "the recipe otherwise the same"),
                            (["plain", "augmented"], "the points differ in more than epochs")):
        pd.DataFrame({"point": ["2ep-cpu", "30ep-cpu"], "recipe": recipes}).to_csv(tmp_path / "budget.csv", index=False)
        sentence = budget_finding(tmp_path / "budget_comparisons.csv", "cnn32_lstm", "cnn32")
        assert phrase in sentence and "30 epochs (30ep-cpu): **better**, +0.51 pp" in sentence


def test_the_committed_answer_names_whether_its_budget_converged() -> None:
    """As pre-registered, a budget that fails the convergence check is named in the answer itself."""
    epochs = yaml.safe_load((REPO / "params.yaml").read_text())["train"]["epochs"]
    converged, _ = convergence_finding(REPO / "reports/budget/budget_convergence.csv", epochs)
    expected = {None: "at this budget", False: f"at {epochs} epochs, not yet converged",
                True: f"at {epochs} epochs, converged"}[converged]
    answer = next(line for line in (REPO / "reports/REPORT.md").read_text().splitlines() if "**Answer:" in line)
    assert f" {expected}.**" in answer
