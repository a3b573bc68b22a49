"""The report's sentences on convergence, on Amendment 1's extension, on Amendment 2's fp32 arm and on a
study between sittings, from the stages' outputs."""

from __future__ import annotations

import json
import shutil
from pathlib import Path

import pandas as pd
import yaml

from cnnlstm.report.build import Inputs, summary_section
from cnnlstm.report.findings import (budget_finding, budget_words, convergence_finding, extension_primary,
                                     progress_finding)
from cnnlstm.study.conditions import recipe
from cnnlstm.study.convergence import CONVERGENCE_COLUMNS
from cnnlstm.study.precision_check import PRECISION_COLUMNS
from conftest import REPO

MAIN = ["cnn32", "cnn32_lstm", "cnn32_bilstm", "cnn32_wide"]
STUDY_RECIPE = recipe(json.loads((REPO / "metrics/summary.json").read_text())["conditions"])


def write_check(path: Path, rows: list[tuple[str, str, float, bool]], short: str = "15ep-cpu") -> Path:
    """budget_convergence.csv: (model, longer point, gain, converged) per row."""
    pd.DataFrame([(model, short, long, int(short.split("ep")[0]), int(long.split("ep")[0]), 0.93, 0.93, gain, 0, 0,
                   0.5, 0.0025, converged, 10) for model, long, gain, converged in rows],
                 columns=CONVERGENCE_COLUMNS).to_csv(path, index=False)
    return path


def test_convergence_is_unchecked_without_a_check_at_the_studys_budget(tmp_path: Path) -> None:
    assert convergence_finding(tmp_path / "missing.csv", 30, MAIN)[0] is None
    other_budget = write_check(tmp_path / "c.csv", [("cnn32", "10ep-cpu", 0.001, True)])
    converged, sentence = convergence_finding(other_budget, 30, MAIN)
    assert converged is None and "not checked yet" in sentence and "30-epoch budget" in sentence


def test_one_main_model_still_gaining_means_not_yet_converged(tmp_path: Path) -> None:
    check = write_check(tmp_path / "c.csv", [("cnn32", "30ep-cpu", 0.001, True), ("cnn32_lstm", "30ep-cpu", 0.004, False)])
    converged, sentence = convergence_finding(check, 30, MAIN)
    assert converged is False and "cnn32_lstm +0.40 pp (not converged)" in sentence and "not yet converged" in sentence
    check = write_check(tmp_path / "c.csv", [("cnn32", "30ep", 0.001, True), ("cnn32_lstm", "30ep", -0.0005, True)])
    assert convergence_finding(check, 30, MAIN[:2]) == (
        True, "Convergence check, held-out accuracy gain from 15ep-cpu to 30ep: cnn32 +0.10 pp (converged); "
              "cnn32_lstm -0.05 pp (converged); every main model is converged.")


def test_converged_is_claimed_only_once_every_main_model_is_checked(tmp_path: Path) -> None:
    check = write_check(tmp_path / "c.csv", [("cnn32", "60ep-cpu", 0.001, True), ("cnn32_lstm", "60ep-cpu", 0.002, True)],
                        short="30ep-cpu")
    converged, sentence = convergence_finding(check, 60, MAIN)
    assert converged is None and sentence.endswith("no main model fails so far; cnn32_bilstm, cnn32_wide not checked yet.")
    assert budget_words(60, converged) == "at 60 epochs, convergence not yet checked"
    assert convergence_finding(check, 30, MAIN)[0] is None  # a check of the 60-epoch budget says nothing of 30


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


def extended_budget(tmp_path: Path, models_at_60: list[str], verdict: str = "better") -> Path:
    """The committed budget tables plus a synthetic 60ep-cpu point: the primary pair there, the 30 -> 60 check
    of `models_at_60` (all converged) and the pair's interaction test."""
    budget = shutil.copytree(REPO / "reports/budget", tmp_path / "budget")
    primary = pd.read_csv(budget / "budget_primary.csv")
    at_60 = primary[primary["point"] == "30ep-cpu"].assign(point="60ep-cpu", epochs=60, mean_diff=0.0061, verdict=verdict)
    pd.concat([primary, at_60]).to_csv(budget / "budget_primary.csv", index=False)
    checks = pd.read_csv(budget / "budget_convergence.csv")
    extra = write_check(tmp_path / "c.csv", [(m, "60ep-cpu", 0.001, True) for m in models_at_60], short="30ep-cpu")
    pd.concat([checks, pd.read_csv(extra)]).to_csv(budget / "budget_convergence.csv", index=False)
    tests = pd.read_csv(budget / "budget_interactions.csv")
    row = tests[(tests["point_a"] == "15ep-cpu") & (tests["point_b"] == "30ep-cpu") & (tests["model"] == "cnn32_lstm")
                & (tests["baseline"] == "cnn32")].assign(point_a="30ep-cpu", point_b="60ep-cpu", change=0.0011)
    pd.concat([tests, row]).to_csv(budget / "budget_interactions.csv", index=False)
    return budget


def committed_summary(budget: Path) -> str:
    summary = json.loads((REPO / "metrics/summary.json").read_text())
    models = pd.read_csv(REPO / "reports/tables/models.csv").set_index("model")
    inputs = Inputs(REPO / "reports/tables", REPO / "plots/figures", budget, REPO / "plots/budget",
                    REPO / "reports/seeds", REPO / "plots/seeds", "test")
    return summary_section(summary, models, inputs)


def test_the_answer_moves_to_the_extension_once_its_primary_pair_is_complete(tmp_path: Path) -> None:
    """Amendment 1: the answer at 60 epochs, unadjusted, with the 30-epoch study's answer and the interaction."""
    text = committed_summary(extended_budget(tmp_path, MAIN))
    answer = next(line for line in text.splitlines() if "**Answer:" in line)
    assert answer.startswith("- **Answer: adding an LSTM to the CNN improves it at 60 epochs, converged.**")
    assert "+0.61 pp held-out accuracy" in answer and "(the primary test, not adjusted)" in answer
    assert "from 30ep-cpu to 60ep-cpu the difference changed by +0.11 pp" in answer
    assert "- The pre-registered 30-epoch study, all 10 models: adding an LSTM to the CNN improves it at 30 epochs, " \
           "not yet converged." in text
    assert "gain from 30ep-cpu to 60ep-cpu: cnn32 +0.10 pp (converged)" in text
    partly = committed_summary(extended_budget(tmp_path / "partly", MAIN[:2], verdict="inconclusive"))
    assert "is not shown to improve it at 60 epochs, convergence not yet checked.**" in partly


def test_the_answer_stays_at_the_studys_budget_without_the_extension(tmp_path: Path) -> None:
    budget = extended_budget(tmp_path, MAIN)
    primary = pd.read_csv(budget / "budget_primary.csv")
    primary.loc[primary["point"] == "60ep-cpu", "verdict"] = "not run"  # a pair not complete there
    primary.to_csv(budget / "budget_primary.csv", index=False)
    assert extension_primary(budget, 30, STUDY_RECIPE) is None
    assert "**Answer: adding an LSTM to the CNN improves it at 30 epochs, not yet converged.**" in committed_summary(budget)


def test_the_committed_answer_names_whether_its_budget_converged() -> None:
    """As pre-registered, a budget that fails the convergence check is named in the answer itself; once
    Amendment 1's extension holds the primary pair, the answer is stated at its budget."""
    params = yaml.safe_load((REPO / "params.yaml").read_text())
    budget, epochs = REPO / "reports/budget", params["train"]["epochs"]
    study_recipe = recipe(json.loads((REPO / "metrics/summary.json").read_text())["conditions"])
    extended = extension_primary(budget, epochs, study_recipe)
    answered = epochs if extended is None else int(extended["epochs"])
    in_arm = extended is not None and extended["recipe"] != study_recipe
    checked = params["study"]["primary"] if in_arm else params["study"]["main_models"]
    converged, _ = convergence_finding(budget / "budget_convergence.csv", answered, checked,
                                       None if extended is None else extended["point"])
    answer = next(line for line in (REPO / "reports/REPORT.md").read_text().splitlines() if "**Answer:" in line)
    assert f" {budget_words(answered, converged, 'fp32' if in_arm else None)}.**" in answer


def with_fp32_arm(budget: Path, immaterial: bool, verdict: str = "inconclusive") -> Path:
    """Amendment 2's arm added to the budget tables: the pair at 30ep-fp32-cpu and 60ep-fp32-cpu, the precision
    check against 30ep-cpu, the arm's 30 -> 60 check of the pair (converged) and its interaction test."""
    arm_recipe = STUDY_RECIPE.replace("bfloat16", "fp32")
    primary = pd.read_csv(budget / "budget_primary.csv")
    at_30 = primary[primary["point"] == "30ep-cpu"].assign(recipe=arm_recipe)
    arm = pd.concat([at_30.assign(point="30ep-fp32-cpu"),
                     at_30.assign(point="60ep-fp32-cpu", epochs=60, mean_diff=-0.0012, verdict=verdict, wins=4)])
    pd.concat([primary, arm]).to_csv(budget / "budget_primary.csv", index=False)
    check = dict(zip(PRECISION_COLUMNS, ["30ep-cpu", "30ep-fp32-cpu", "bfloat16", "fp32", 30, "cnn32_lstm", "cnn32",
                                         0.0004, 0.0002, 0.0051, 0.0053, 0.0002, -0.001, 0.0014, 0.7, 0.72,
                                         0.001 if immaterial else 0.2, 0.002 if immaterial else 0.25, False,
                                         immaterial, 10]))
    pd.DataFrame([check]).to_csv(budget / "budget_precision.csv", index=False)
    checks = pd.read_csv(budget / "budget_convergence.csv")
    extra = write_check(budget / "arm.csv", [(m, "60ep-fp32-cpu", 0.001, True) for m in MAIN[:2]],
                        short="30ep-fp32-cpu")
    pd.concat([checks, pd.read_csv(extra)]).to_csv(budget / "budget_convergence.csv", index=False)
    tests = pd.read_csv(budget / "budget_interactions.csv")
    row = tests[(tests["point_a"] == "15ep-cpu") & (tests["point_b"] == "30ep-cpu") & (tests["model"] == "cnn32_lstm")
                & (tests["baseline"] == "cnn32")].assign(point_a="30ep-fp32-cpu", point_b="60ep-fp32-cpu", change=-0.0065)
    pd.concat([tests, row]).to_csv(budget / "budget_interactions.csv", index=False)
    return budget


def arm_only(tmp_path: Path, immaterial: bool) -> Path:
    """The committed tables (no 60-epoch bf16 point) with the fp32 arm."""
    return with_fp32_arm(shutil.copytree(REPO / "reports/budget", tmp_path / "budget"), immaterial)


def test_the_fp32_arm_answers_at_60_epochs_once_the_precision_is_shown_immaterial(tmp_path: Path) -> None:
    """Amendment 2: the bf16 pair incomplete at 60 epochs, the arm complete at 30 and 60, TOST rejects."""
    budget = arm_only(tmp_path, immaterial=True)
    assert extension_primary(budget, 30, STUDY_RECIPE)["point"] == "60ep-fp32-cpu"
    text = committed_summary(budget)
    answer = next(line for line in text.splitlines() if "**Answer:" in line)
    assert answer.startswith("- **Answer: adding an LSTM to the CNN is not shown to improve it at 60 epochs in fp32, "
                             "converged.** Amendment 2 (docs/preregistration.md): the primary pair trained in fp32")
    assert "from 30ep-fp32-cpu to 60ep-fp32-cpu the difference changed by -0.65 pp" in answer
    assert "gain from 30ep-fp32-cpu to 60ep-fp32-cpu: cnn32 +0.10 pp (converged); cnn32_lstm +0.10 pp " \
           "(converged); every model of the primary pair (the fp32 arm trains no other) is converged." in text
    assert "The pre-registered 30-epoch study, all 10 models: adding an LSTM to the CNN improves it at 30 " \
           "epochs, not yet converged." in text
    assert "the precision is **immaterial** to the answer." in text and "not the answer" not in text


def test_the_fp32_arm_is_only_reported_beside_an_answer_it_does_not_carry(tmp_path: Path) -> None:
    """Not shown immaterial: the answer stays at 30 epochs in bf16; and beside Amendment 1's answer."""
    text = committed_summary(arm_only(tmp_path / "a", immaterial=False))
    assert "**Answer: adding an LSTM to the CNN improves it at 30 epochs, not yet converged.**" in text
    assert "the precision is **not shown immaterial** to the answer." in text
    assert "- In fp32 (Amendment 2's arm, 60ep-fp32-cpu), not the answer: cnn32_lstm − cnn32 **inconclusive**, " \
           "-0.12 pp" in text
    both = committed_summary(with_fp32_arm(extended_budget(tmp_path / "b", MAIN), immaterial=True))
    answer = next(line for line in both.splitlines() if "**Answer:" in line)
    assert answer.startswith("- **Answer: adding an LSTM to the CNN improves it at 60 epochs, converged.** Amendment 1")
    assert "the precision is **immaterial** to the answer." in both
    assert "- In fp32 (Amendment 2's arm, 60ep-fp32-cpu), not the answer:" in both
