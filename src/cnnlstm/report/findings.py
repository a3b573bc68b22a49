"""What the budget and seed stages found about the proposed model's question, in sentences for the
report's summary: read from their tables (reports/budget/budget_comparisons.csv, budget_convergence.csv,
budget_primary.csv, budget_interactions.csv, budget_precision.csv, reports/seeds/seed_comparisons.csv),
never copied by hand."""

from __future__ import annotations

from pathlib import Path

import pandas as pd

from cnnlstm.study.extension import extension_epochs
from cnnlstm.study.formatting import format_p
from cnnlstm.study.verdicts import NOT_RUN


def _table(path: Path) -> pd.DataFrame:
    """A budget stage table; empty when missing or without rows (a table of no rows may have no header)."""
    try:
        return pd.read_csv(path)
    except (FileNotFoundError, pd.errors.EmptyDataError):
        return pd.DataFrame()


def _diff(row: pd.Series) -> str:
    return (f"{row['mean_diff'] * 100:+.2f} pp (95% CI [{row['ci95_low'] * 100:+.2f}, {row['ci95_high'] * 100:+.2f}], "
            f"Holm p {format_p(row['p_ttest_holm'])})")


def budget_finding(comparisons: Path, model: str, baseline: str) -> str | None:
    """How the `model` − `baseline` verdict moves with the training budget; None without other budgets."""
    rows = pd.read_csv(comparisons)
    rows = rows[(rows["model"] == model) & (rows["baseline"] == baseline)].sort_values("epochs")
    if len(rows) < 2:
        return None
    points = "; ".join(f"{r['epochs']} epochs ({r['point']}): **{r['verdict']}**, {_diff(r)}" for _, r in rows.iterrows())
    recipes = comparisons.with_name("budget.csv")  # the budget stage's per-point recipes, beside it
    differ = recipes.is_file() and pd.read_csv(recipes).query("point in @rows.point")["recipe"].nunique() > 1
    how = ("each budget point a whole run; the points differ in more than epochs, the recipes are in the budget "
           "table" if differ else "each budget point a whole run, the recipe otherwise the same")
    return f"With more epochs ({how}), {model} − {baseline}: {points}."


def seed_finding(comparisons: Path, model: str, baseline: str) -> list[str]:
    """Per seed point: the verdict at each training seed and on the folds' seed means."""
    rows = pd.read_csv(comparisons, dtype={"seed": str})
    rows = rows[(rows["model"] == model) & (rows["baseline"] == baseline)]
    lines = []
    for point, group in rows.groupby("point", sort=False):
        seeds = group[group["seed"] != "mean"]
        mean = group[group["seed"] == "mean"]
        verdicts = ", ".join(f"seed {r['seed']} {r['verdict']} ({r['mean_diff'] * 100:+.2f} pp)"
                             for _, r in seeds.iterrows())
        line = f"{point}, {len(seeds)} training seeds: {verdicts}"
        if not mean.empty:
            line += f"; on each fold's mean over the seeds **{mean.iloc[0]['verdict']}**, {_diff(mean.iloc[0])}"
        lines.append(line + ".")
    return lines


MAIN_MODELS = "main model"
ARM_MODELS = "model of the primary pair (the fp32 arm trains no other)"


def convergence_finding(convergence: Path, epochs: int, main_models: list[str], point: str | None = None,
                        models_are: str = MAIN_MODELS) -> tuple[bool | None, str]:
    """(whether every model of `main_models` is converged at `epochs`: None until each is checked, unless one
    already fails; a sentence saying so, calling them `models_are`) from the budget stage's convergence check
    whose longer point has `epochs` (and is `point`, where several points have those epochs: Amendment 2's
    fp32 arm)."""
    rows = _table(convergence)
    if not rows.empty:
        rows = rows[(rows["epochs_long"] == epochs) & ((rows["point_long"] == point) if point else True)]
    if rows.empty:
        return None, (f"Convergence at {epochs} epochs is **not checked yet**: the pre-registered check (the main "
                      "models trained again at half the budget, docs/preregistration.md) has not run, so these are "
                      f"statements about a {epochs}-epoch budget.")
    gains = "; ".join(f"{r['model']} {r['gain'] * 100:+.2f} pp ({'converged' if r['converged'] else 'not converged'})"
                      for _, r in rows.iterrows())
    unchecked = [m for m in main_models if m not in set(rows["model"])]
    converged = False if not rows["converged"].all() else None if unchecked else True
    verdict = {True: f"every {models_are} is converged", False: f"**not yet converged** at {epochs} epochs",
               None: f"no {models_are} fails so far; {', '.join(unchecked)} not checked yet"}[converged]
    return converged, (f"Convergence check, held-out accuracy gain from {rows.iloc[0]['point_short']} to "
                       f"{rows.iloc[0]['point_long']}: {gains}; {verdict}.")


def budget_words(epochs: int, converged: bool | None, precision: str | None = None) -> str:
    """The budget an answer holds at, as the pre-registration has it named in the answer itself (and the
    training precision, for an answer from Amendment 2's fp32 arm)."""
    state = {None: "convergence not yet checked", False: "not yet converged", True: "converged"}[converged]
    return f"at {epochs} epochs{f' in {precision}' if precision else ''}, {state}"


def precision_check(budget: Path, study_epochs: int, study_recipe: str) -> pd.Series | None:
    """Amendment 2's precision check at the study's budget, from the study's own point to the fp32 arm's;
    None until the primary pair is complete at both."""
    rows = _table(budget / "budget_primary.csv")
    checks = _table(budget / "budget_precision.csv")
    if rows.empty or checks.empty:
        return None
    own = set(rows.query("epochs == @study_epochs and recipe == @study_recipe")["point"])
    checks = checks[checks["point_a"].isin(own)]
    return None if checks.empty else checks.iloc[0]


def extension_primary(budget: Path, study_epochs: int, study_recipe: str) -> pd.Series | None:
    """The primary pair judged at the extension's budget that carries the published answer
    (docs/preregistration.md), None until there is one: Amendment 1's point of the study's own recipe once
    the pair is complete there; until then, by Amendment 2, the fp32 arm's point once the pair is complete
    there and the precision check at the study's budget finds the precision immaterial."""
    primary = _table(budget / "budget_primary.csv")
    if primary.empty:
        return None
    rows = primary[(primary["epochs"] == extension_epochs(study_epochs)) & (primary["verdict"] != NOT_RUN)]
    own = rows[rows["recipe"] == study_recipe]
    if not own.empty:
        return own.iloc[0]
    check = precision_check(budget, study_epochs, study_recipe)
    if check is None or not check["immaterial"]:
        return None
    arm_recipe = primary.query("point == @check.point_b")["recipe"].iloc[0]
    arm = rows[rows["recipe"] == arm_recipe]
    return None if arm.empty else arm.iloc[0]


def precision_finding(check: pd.Series, margin: float) -> str:
    """Amendment 2's precision check in words."""
    borderline = " (borderline: the other n_train disagrees)" if check["borderline"] else ""
    return (f"Precision check (Amendment 2), {check['point_a']} ({check['precision_a']}) against "
            f"{check['point_b']} ({check['precision_b']}): {check['model']} − {check['baseline']} moved from "
            f"{check['diff_a'] * 100:+.2f} to {check['diff_b'] * 100:+.2f} pp, a change of "
            f"{check['change'] * 100:+.2f} pp (95% CI [{check['ci95_low'] * 100:+.2f}, {check['ci95_high'] * 100:+.2f}], "
            f"corrected t-test p {format_p(check['p_ttest'])}, TOST ±{margin * 100:.2f} pp p {format_p(check['p_tost'])}): "
            f"the precision is **{'immaterial' if check['immaterial'] else 'not shown immaterial'}** to the "
            f"answer{borderline}.")


def other_precision_primary(budget: Path, study_epochs: int, answered: str | None) -> pd.Series | None:
    """The fp32 arm's primary pair at the extension's budget when it is complete there and is not the point
    the answer is stated at: Amendment 2 has it reported beside the answer, in its own precision."""
    rows = _table(budget / "budget_primary.csv")
    checks = _table(budget / "budget_precision.csv")
    if rows.empty or checks.empty:
        return None
    arm_recipes = set(rows[rows["point"].isin(checks["point_b"])]["recipe"])
    rows = rows[(rows["epochs"] == extension_epochs(study_epochs)) & (rows["verdict"] != NOT_RUN)
                & rows["recipe"].isin(arm_recipes) & (rows["point"] != answered)]
    return None if rows.empty else rows.iloc[0]


def primary_change(budget: Path, row: pd.Series, study_epochs: int) -> str | None:
    """The budget x model interaction of the primary pair from the study's budget to `row`'s point, in words."""
    tests, primary = _table(budget / "budget_interactions.csv"), _table(budget / "budget_primary.csv")
    if tests.empty:
        return None
    at_study = primary.query("epochs == @study_epochs")["point"]
    tests = tests.query("point_b == @row.point and point_a in @at_study and same_recipe "
                        "and model == @row.model and baseline == @row.baseline")
    if tests.empty:
        return None
    t = tests.iloc[0]
    return (f"from {t['point_a']} to {t['point_b']} the difference changed by {t['change'] * 100:+.2f} pp "
            f"(95% CI [{t['ci95_low'] * 100:+.2f}, {t['ci95_high'] * 100:+.2f}], budget × model interaction test "
            f"p {format_p(t['p_ttest'])})")


def progress_finding(summary: dict) -> str | None:
    """A study between sittings: how many runs are analysed and which models are left out; None when whole."""
    if not summary.get("incomplete"):
        return None
    left_out = ", ".join(f"{name} {entry['label']}" for name, entry in summary["incomplete"].items())
    runs = summary["runs"]
    return (f"**Study in progress:** {runs['done']} of {runs['of']} model × fold runs analysed. Left out until all "
            f"their folds are done (no number of theirs is shown, none of their pairs judged): {left_out}.")
