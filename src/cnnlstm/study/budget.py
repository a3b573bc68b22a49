"""Accuracy against training budget: the budget points of metrics/budgets/ (study/budget_points.py)
gathered into tables of held-out accuracy, training FLOPs, the paired verdicts at each point (judged
again, with the pre-registered analysis, where per-fold files were kept), the primary pair at each point,
the budget x model interaction tests and the convergence check (study/convergence.py), and Amendment 2's
precision check (study/precision_check.py)."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pandas as pd

from cnnlstm.core.atomic import write_text
from cnnlstm.core.params import Params
from cnnlstm.study.analysis import alternative_size, judge_families, judge_primary
from cnnlstm.study.budget_points import BudgetPoint
from cnnlstm.study.conditions import NOT_RECORDED, hardware_counts, recipe
from cnnlstm.study.convergence import checked_budgets, convergence_table, interaction_table
from cnnlstm.study.formatting import format_p, plus_minus, verdicts_by_question
from cnnlstm.study.pairs import comparison_pairs
from cnnlstm.study.precision_check import precision_table
from cnnlstm.study.verdicts import NOT_RUN, SUMMARY_ONLY

TRAIN_FLOPS_PER_FORWARD = 3  # forward + backward ~ 3 forward passes per training image (Kaplan et al. 2020)


def hardware(point: BudgetPoint) -> str:
    """Where a point's runs were trained, e.g. `AMD EPYC 9R14 x 30`, from its run records (or its summary)."""
    if point.runs is not None:
        counts = hardware_counts([log for folds in point.runs.train_logs.values() for log in folds.values()])
    else:
        counts = point.summary["conditions"].get("train_hardware") or {NOT_RECORDED: None}
    return ", ".join(name if n is None else f"{name} x {n}" for name, n in counts.items())


def budget_table(points: dict[str, BudgetPoint]) -> pd.DataFrame:
    """One row per (budget point, model): held-out accuracy mean and std over folds, fold-ensemble test
    accuracy, and training FLOPs per fold (FLOPs per image x 3 x training images x epochs)."""
    rows = []
    for point in points.values():
        summary = point.summary
        c = summary["conditions"]
        for model, entry in summary["models"].items():
            rows.append({
                "point": point.name, "epochs": c["epochs"], "recipe": recipe(c), "model": model,
                "per_fold_files": point.runs is not None, "hardware": hardware(point),
                "accuracy_mean": entry["cv"]["accuracy"]["mean"], "accuracy_std": entry["cv"]["accuracy"]["std"],
                "folds": summary["folds"], "test_accuracy": entry["test_ensemble"]["accuracy"],
                "train_flops": TRAIN_FLOPS_PER_FORWARD * entry["flops_per_image"] * c["train_images"] * c["epochs"],
            })
    return pd.DataFrame(rows)


def _summary_rows(point: BudgetPoint) -> list[dict]:
    """A summary-only point's pairs as it recorded them: shown, not judged (no per-fold files)."""
    return [{"point": point.name, "epochs": point.epochs, "question": question, "model": e["model"],
             "baseline": e["baseline"], "mean_diff": e["accuracy"]["mean_diff"], "ci95_low": e["accuracy"]["ci95_low"],
             "ci95_high": e["accuracy"]["ci95_high"], "wins": e["accuracy"]["wins"], "folds": e["accuracy"]["folds"],
             "verdict": SUMMARY_ONLY}
            for question, pairs in point.summary["comparisons"].items() for e in pairs.values()]


def budget_comparisons(points: dict[str, BudgetPoint], params: Params) -> pd.DataFrame:
    """One row per (budget point, question, pair of the question's fixed family): at a point with per-fold
    files the pair judged with the pre-registered analysis (Holm over the whole family, pairs not run with
    p = 1; borderline under the other n_train), or `not run`; at a summary-only point, as recorded."""
    pairs = comparison_pairs(params)
    rows: list[dict] = []
    for point in points.values():
        if point.runs is None:
            rows += _summary_rows(point)
            continue
        scores = {m: {"accuracy": v} for m, v in point.runs.complete().items()}
        judged, families = judge_families(pairs, scores, point.runs.sizes(), params.analysis,
                                          params.equivalence_margin, ("accuracy",))
        for pair in pairs:
            entry = judged.get(pair.question, {}).get(pair.key)
            base = {"point": point.name, "epochs": point.epochs, "question": pair.question, "model": pair.model,
                    "baseline": pair.baseline, "family": families[pair.question]["pairs"]}
            if entry is None:
                rows.append(base | {"verdict": NOT_RUN})
                continue
            s = entry["accuracy"]
            rows.append(base | {k: s[k] for k in (
                "mean_diff", "ci95_low", "ci95_high", "p_ttest", "p_ttest_holm", "p_tost_holm", "wins", "folds",
                "verdict", "borderline", "alternative_verdict", "alternative_p_ttest_holm", "alternative_p_tost_holm")})
    columns = ["point", "epochs", "question", "model", "baseline", "family", "mean_diff", "verdict", "wins", "folds"]
    frame = pd.DataFrame(rows)
    frame = frame.reindex(columns=list(dict.fromkeys([*frame.columns, *columns])))  # a summary-only study has no family
    return frame.assign(margin=params.equivalence_margin)


def primary_table(points: dict[str, BudgetPoint], params: Params) -> pd.DataFrame:
    """The primary pair at each point with per-fold files (unadjusted, the study's answer at that budget)."""
    pairs = comparison_pairs(params)
    rows = []
    for point in points.values():
        if point.runs is not None:
            scores = {m: {"accuracy": v} for m, v in point.runs.complete().items()}
            judged = judge_primary(pairs, scores, point.runs.sizes(), params.analysis, params.equivalence_margin)
            rows.append({"point": point.name, "epochs": point.epochs,
                         "recipe": recipe(point.summary["conditions"])} | judged)
    return pd.DataFrame(rows)


def _pp(value: float) -> str:
    return f"{value * 100:+.2f}"


def _primary_markdown(primary: pd.DataFrame, params: Params) -> list[str]:
    model, baseline = params.analysis.primary
    lines = [f"**Primary comparison** ({model} vs {baseline}, held-out accuracy, corrected t-test and TOST at "
             f"alpha 0.05, not adjusted; n_train {params.analysis.ttest_train_size}):", ""]
    if primary.empty:
        return lines + ["No point with per-fold files.", ""]
    cells = []
    for row in primary.itertuples():
        if row.verdict == NOT_RUN:
            cells.append({"point": row.point, "Δ pp [95% CI]": "–", "p t-test": "–", "p TOST": "–", "verdict": NOT_RUN})
            continue
        note = f" (borderline: {row.alternative_verdict} with the other n_train)" if row.borderline else ""
        cells.append({"point": row.point, "Δ pp [95% CI]": f"{_pp(row.mean_diff)} [{_pp(row.ci95_low)}, "
                      f"{_pp(row.ci95_high)}]", "p t-test": format_p(row.p_ttest), "p TOST": format_p(row.p_tost),
                      "verdict": f"{row.verdict}{note} ({row.wins}/{row.folds})"})
    return lines + [pd.DataFrame(cells).to_markdown(index=False, disable_numparse=True), ""]


def _interaction_markdown(interactions: pd.DataFrame, params: Params) -> list[str]:
    alt = alternative_size(params.analysis.ttest_train_size)
    lines = ["**Budget x model interaction** (does a pair's difference change between two points? The corrected "
             "t-test of the per-fold change of the difference, same folds, unadjusted; points with per-fold files "
             f"only; p with n_train {params.analysis.ttest_train_size}, in brackets {alt}):", ""]
    if interactions.empty:
        return lines + ["No two points with per-fold files share a pair.", ""]
    shown = pd.DataFrame({
        "pair": interactions["model"] + " vs " + interactions["baseline"],
        "points": interactions["point_a"] + " → " + interactions["point_b"]
        + np.where(interactions["same_recipe"], "", " (recipes differ)"),
        "Δ pp": [f"{_pp(a)} → {_pp(b)}" for a, b in zip(interactions["diff_a"], interactions["diff_b"])],
        "change pp [95% CI]": [f"{_pp(c)} [{_pp(lo)}, {_pp(hi)}]" for c, lo, hi in
                               zip(interactions["change"], interactions["ci95_low"], interactions["ci95_high"])],
        "p": [f"{format_p(p)} ({format_p(q)})" + (", borderline" if b else "") for p, q, b in
              zip(interactions["p_ttest"], interactions["p_ttest_alternative"], interactions["borderline"])],
    }).drop_duplicates(["pair", "points"])  # a pair in two questions is one test
    return lines + [shown.to_markdown(index=False, disable_numparse=True), ""]


def _convergence_markdown(convergence: pd.DataFrame, params: Params) -> list[str]:
    checks = checked_budgets(params)
    (short, long), (_, extended) = checks
    lines = [f"**Convergence check** (main models, held-out accuracy gain from {short} to {long} epochs and, "
             f"Amendment 1's extension, from {long} to {extended}; same recipe and folds; converged when the mean "
             f"gain is below {params.analysis.convergence_tolerance * 100:.2f} pp):", ""]
    if not convergence.empty:
        shown = pd.DataFrame({
            "model": convergence["model"], "points": convergence["point_short"] + " → " + convergence["point_long"],
            "gain pp [95% CI]": [f"{_pp(g)} [{_pp(lo)}, {_pp(hi)}]" for g, lo, hi in
                                 zip(convergence["gain"], convergence["ci95_low"], convergence["ci95_high"])],
            "p": convergence["p_ttest"].map(format_p),
            "converged": np.where(convergence["converged"], "yes", "no"),
        })
        lines += [shown.to_markdown(index=False, disable_numparse=True), ""]
    run = set(zip(convergence["epochs_short"], convergence["epochs_long"]))
    for a, b in checks:
        if (a, b) not in run:
            lines += [f"{a} → {b} epochs: not run yet; it needs both points, of one recipe, with per-fold files.", ""]
    return lines


def _precision_markdown(precision: pd.DataFrame, params: Params) -> list[str]:
    model, baseline = params.analysis.primary
    margin = params.equivalence_margin * 100
    lines = [f"**Precision check** (Amendment 2: {model} vs {baseline} at two points that differ in the training "
             "precision alone, same epochs and folds; each model's mean change, and the corrected t-test and TOST "
             f"within ±{margin:.2f} pp of the per-fold change of the difference, unadjusted; p with n_train "
             f"{params.analysis.ttest_train_size}, in brackets {alternative_size(params.analysis.ttest_train_size)}; "
             "the precision is immaterial to the answer when the TOST rejects):", ""]
    if precision.empty:
        return lines + ["Not run yet: it needs the primary pair complete at both points, with per-fold files.", ""]
    shown = pd.DataFrame({
        "points": precision["point_a"] + " → " + precision["point_b"],
        "trained in": precision["precision_a"] + " → " + precision["precision_b"],
        f"{model} / {baseline} pp": [f"{_pp(m)} / {_pp(b)}" for m, b in
                                      zip(precision["model_change"], precision["baseline_change"])],
        "Δ pp": [f"{_pp(a)} → {_pp(b)}" for a, b in zip(precision["diff_a"], precision["diff_b"])],
        "change pp [95% CI]": [f"{_pp(c)} [{_pp(lo)}, {_pp(hi)}]" for c, lo, hi in
                               zip(precision["change"], precision["ci95_low"], precision["ci95_high"])],
        "p t-test": [f"{format_p(p)} ({format_p(q)})" for p, q in
                     zip(precision["p_ttest"], precision["p_ttest_alternative"])],
        "p TOST": [f"{format_p(p)} ({format_p(q)})" for p, q in
                   zip(precision["p_tost"], precision["p_tost_alternative"])],
        "precision": [("immaterial" if i else "not shown immaterial") + (", borderline" if b else "")
                      for i, b in zip(precision["immaterial"], precision["borderline"])],
    })
    return lines + [shown.to_markdown(index=False, disable_numparse=True), ""]


def budget_markdown(table: pd.DataFrame, comparisons: pd.DataFrame, primary: pd.DataFrame,
                    interactions: pd.DataFrame, convergence: pd.DataFrame, precision: pd.DataFrame,
                    params: Params) -> str:
    """Held-out accuracy (%) mean ± std per model at each budget point, the points' recipes, the primary pair
    per point, per question each pair's difference and verdict at each point, the interaction tests, the
    convergence check and the precision check."""
    points = list(dict.fromkeys(table["point"]))
    info = table.drop_duplicates("point").set_index("point")
    lines = ["Budget points: " + "; ".join(
        f"**{p}**: {info.loc[p, 'recipe']}, hardware: {info.loc[p, 'hardware']}"
        + ("" if info.loc[p, "per_fold_files"] else " (summary only: no per-fold files, not judged)")
        for p in points) + ".", ""]
    cells = [plus_minus(mean, std, True) for mean, std in zip(table["accuracy_mean"], table["accuracy_std"])]
    accuracy = table.assign(cell=cells)
    wide = accuracy.pivot(index="model", columns="point", values="cell")
    wide = wide.loc[list(dict.fromkeys(table["model"])), points].fillna("–")
    lines += ["Held-out accuracy %, mean ± std over folds:", "",
              wide.to_markdown(disable_numparse=True), ""]
    lines += _primary_markdown(primary, params)
    judged_anywhere = comparisons.groupby(["question", "model", "baseline"])["verdict"].transform(
        lambda v: (v != NOT_RUN).any())
    shown = comparisons[judged_anywhere]
    for question, wide in verdicts_by_question(shown, "point", points):
        family = comparisons.loc[comparisons["question"] == question.key, "family"].dropna()
        n = int(family.iloc[0]) if len(family) else 0
        size = (f"Holm family of {n} pair{'s' if n != 1 else ''} at every point (a pair not run counts with "
                "p = 1)") if n else "as recorded"
        lines += [f"**{question.title}** Δ held-out accuracy, verdict (wins/folds); {size}; pairs run at no "
                  "point not shown:", "", wide.to_markdown(disable_numparse=True), ""]
    lines += _interaction_markdown(interactions, params)
    lines += _convergence_markdown(convergence, params)
    lines += _precision_markdown(precision, params)
    return "\n".join(lines)


def write_budget_tables(folder: Path, points: dict[str, BudgetPoint], params: Params) -> tuple[pd.DataFrame, ...]:
    """budget.csv, budget_comparisons.csv, budget_primary.csv, budget_interactions.csv, budget_convergence.csv,
    budget_precision.csv and budget.md into `folder`; returns the frames in that order."""
    frames = (budget_table(points), budget_comparisons(points, params), primary_table(points, params),
              interaction_table(points, params), convergence_table(points, params), precision_table(points, params))
    for name, frame in zip(("budget", "budget_comparisons", "budget_primary", "budget_interactions",
                            "budget_convergence", "budget_precision"), frames):
        write_text(folder / f"{name}.csv", frame.to_csv(index=False))
    write_text(folder / "budget.md", budget_markdown(*frames, params))
    return frames
