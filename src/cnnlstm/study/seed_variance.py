"""Seed variance of a study point: how much of a model's (and a comparison's) spread comes from which
images a fold holds out and how much from the training seed (initialisation, data order, augmentation),
whether a single-seed verdict holds at every seed, and the comparison judged on each fold's seed mean
(the seeds share a fold's training set, so the fold stays the unit of the corrected t-test). Each column
is judged with the pre-registered analysis: the fixed Holm families of every configured model (pairs
without seed runs count with p = 1), borderline under the other n_train."""

from __future__ import annotations

import math
from pathlib import Path

import pandas as pd

from cnnlstm.core.atomic import write_text
from cnnlstm.core.params import Params
from cnnlstm.evaluation.metrics import rounded
from cnnlstm.study.analysis import judge_families
from cnnlstm.study.conditions import budget_phrase
from cnnlstm.study.formatting import verdicts_by_question
from cnnlstm.study.pairs import comparison_pairs
from cnnlstm.study.seed_runs import SeedStudy
from cnnlstm.study.stats import variance_components

SEED_MEAN = "mean"  # the `seed` column's value for the comparison on each fold's seed mean


def model_variance(study: SeedStudy) -> pd.DataFrame:
    """Per model: held-out accuracy mean over folds and seeds, fold and seed standard deviations
    (random-effects ANOVA) and the fold share of the variance."""
    rows = []
    for model, values in study.heldout.items():
        parts = variance_components(values)
        rows.append({"point": study.point, "model": model, "folds": values.shape[0], "seeds": values.shape[1],
                     "accuracy_mean": rounded(values.mean()), "fold_sd": rounded(math.sqrt(parts.fold)),
                     "seed_sd": rounded(math.sqrt(parts.seed)), "fold_share": rounded(parts.fold_share)})
    return pd.DataFrame(rows)


def comparison_table(study: SeedStudy, params: Params) -> pd.DataFrame:
    """Per question and pair with seed runs: the comparison at each seed alone (with every model of that
    seed's folder: seed 0's may be the whole study) and on the seed means (the models of every seed), each
    column judged in the question's fixed family, with the fold and seed standard deviations of the
    per-fold difference."""
    columns = {str(seed): {m: {"accuracy": v} for m, v in study.alone[seed].items()} for seed in study.seeds}
    columns[SEED_MEAN] = {m: {"accuracy": v.mean(axis=1)} for m, v in study.heldout.items()}
    judged = {seed: judge_families(comparison_pairs(params), scores, study.sizes, params.analysis,
                                   params.equivalence_margin, ("accuracy",)) for seed, scores in columns.items()}
    rows = []
    for question, (pairs, family) in ((q, (p, judged[SEED_MEAN][1][q])) for q, p in judged[SEED_MEAN][0].items()):
        for key in pairs:
            for seed, (by_question, _) in judged.items():
                entry = by_question[question][key]
                model, baseline = entry["model"], entry["baseline"]
                parts = variance_components(study.heldout[model] - study.heldout[baseline])
                s = entry["accuracy"]
                rows.append({"point": study.point, "question": question, "model": model, "baseline": baseline,
                             "seed": seed, "family": family["pairs"], "mean_diff": s["mean_diff"],
                             "ci95_low": s["ci95_low"], "ci95_high": s["ci95_high"], "p_ttest_holm": s["p_ttest_holm"],
                             "p_tost_holm": s["p_tost_holm"], "wins": s["wins"], "folds": s["folds"],
                             "verdict": s["verdict"], "borderline": s["borderline"],
                             "alternative_verdict": s["alternative_verdict"],
                             "diff_fold_sd": rounded(math.sqrt(parts.fold)),
                             "diff_seed_sd": rounded(math.sqrt(parts.seed)), "margin": params.equivalence_margin})
    return pd.DataFrame(rows)


def _pp(value: float) -> str:
    return f"{value * 100:.2f}"


def seed_markdown(study: SeedStudy, models: pd.DataFrame, comparisons: pd.DataFrame) -> str:
    """One point's section: the model table, then per question each pair at every seed and on the means."""
    seeds = ", ".join(map(str, study.seeds))
    lines = [f"### {study.point}: {len(study.seeds)} training seeds ({seeds}) x {len(study.folds)} folds, "
             f"{budget_phrase(study.conditions)}", "",
             "Held-out accuracy %: mean over folds and seeds; standard deviation between folds (which images "
             "are held out) and between seeds within a fold (initialisation, data order, augmentation):", ""]
    table = pd.DataFrame({
        "model": models["model"], "accuracy %": [_pp(v) for v in models["accuracy_mean"]],
        "fold SD pp": [_pp(v) for v in models["fold_sd"]], "seed SD pp": [_pp(v) for v in models["seed_sd"]],
        "fold share of variance": [f"{v:.0%}" if not pd.isna(v) else "–" for v in models["fold_share"]],
    })
    lines += [table.to_markdown(index=False, disable_numparse=True), ""]
    per_seed = ", ".join(f"seed {seed} {len(study.alone[seed])}" for seed in study.seeds)
    lines += [f"Each seed's column is judged with every model of its folder ({per_seed} models: seed 0's may be "
              f"the whole study, judged as the study was), the mean of seeds with the {len(study.heldout)} models "
              "trained at every seed; Holm over each question's fixed family, a pair without runs counting with "
              "p = 1.", ""]
    order = [str(s) for s in study.seeds] + [SEED_MEAN]
    spread = comparisons[comparisons["seed"] == SEED_MEAN]
    spread = spread.set_index(spread["model"] + " vs " + spread["baseline"])
    for question, wide in verdicts_by_question(comparisons, "seed", order):
        wide.columns = [f"seed {c}" for c in wide.columns[:-1]] + ["mean of seeds"]
        wide["Δ fold SD / seed SD pp"] = [f"{_pp(spread.loc[p, 'diff_fold_sd'])} / {_pp(spread.loc[p, 'diff_seed_sd'])}"
                                          for p in wide.index]
        family = int(comparisons.loc[comparisons["question"] == question.key, "family"].iloc[0])
        lines += [f"**{question.title}** Δ held-out accuracy, verdict (wins/folds); Holm over the question's fixed "
                  f"family of {family} pair{'s' if family != 1 else ''} (pairs without seed runs count with p = 1):",
                  "", wide.to_markdown(disable_numparse=True), ""]
    return "\n".join(lines)


def write_seed_tables(folder: Path, studies: list[SeedStudy], params: Params) -> tuple[pd.DataFrame, pd.DataFrame]:
    """seeds.md, seed_models.csv and seed_comparisons.csv into `folder`; returns the two frames."""
    models = pd.concat([model_variance(s) for s in studies], ignore_index=True)
    comparisons = pd.concat([comparison_table(s, params) for s in studies], ignore_index=True)
    sections = [seed_markdown(s, models[models["point"] == s.point], comparisons[comparisons["point"] == s.point])
                for s in studies]
    write_text(folder / "seed_models.csv", models.to_csv(index=False))
    write_text(folder / "seed_comparisons.csv", comparisons.to_csv(index=False))
    write_text(folder / "seeds.md", "\n".join(sections))
    return models, comparisons
