"""The pre-registered analysis of one study point (docs/preregistration.md): each question's fixed Holm
family judged under both t-test fold sizes, a verdict that differs between them marked borderline, and
the primary pair judged alone, unadjusted. Shared by the aggregate, budget and seeds stages."""

from __future__ import annotations

import dataclasses
from typing import Any

import numpy as np

from cnnlstm.core.params import TTEST_TRAIN_SIZES, AnalysisParams
from cnnlstm.study.judging import judge_question
from cnnlstm.study.pairs import Pair
from cnnlstm.study.runs import FoldSizes
from cnnlstm.study.stats import paired_comparison
from cnnlstm.study.verdicts import ALPHA, NOT_RUN, decide_p

Scores = dict[str, dict[str, np.ndarray]]  # complete model -> metric -> one value per fold, in fold order


def alternative_size(choice: str) -> str:
    """The other defensible n_train (the borderline check's)."""
    return next(other for other in TTEST_TRAIN_SIZES if other != choice)


def analysis_record(analysis: AnalysisParams, margin: float) -> dict[str, Any]:
    """The pre-registered values an analysis used, as summary.json records them (tests compare them with
    params.yaml's `study:`)."""
    return {**{k: list(v) if isinstance(v, tuple) else v for k, v in dataclasses.asdict(analysis).items()},
            "equivalence_margin": margin, "alpha": ALPHA}


def families(pairs: list[Pair]) -> dict[str, list[Pair]]:
    """Each question's fixed family, in the order the pairs were derived."""
    grouped: dict[str, list[Pair]] = {}
    for pair in pairs:
        grouped.setdefault(pair.question, []).append(pair)
    return grouped


def _compared(members: list[Pair], scores: Scores, n_train: float, sizes: FoldSizes, margin: float,
              metrics: tuple[str, ...]) -> dict[str, dict[str, Any]]:
    return {p.key: {"model": p.model, "baseline": p.baseline,
                    **{m: paired_comparison(scores[p.model][m], scores[p.baseline][m], n_train, sizes.heldout, margin)
                       for m in metrics}}
            for p in members}


def judge_families(pairs: list[Pair], scores: Scores, sizes: FoldSizes, analysis: AnalysisParams, margin: float,
                   metrics: tuple[str, ...]) -> tuple[dict[str, dict[str, Any]], dict[str, dict[str, Any]]]:
    """({question: {key: judged entry}} for the pairs whose two models are complete, {question: {"pairs": family
    size, "judged": n, "not_run": [keys]}}). Holm runs over the whole family: a pair not run counts with p = 1.
    Each metric's statistics are those under `analysis.ttest_train_size`, with `borderline` (the verdict under
    the other n_train differs) and that `alternative_verdict` and its Holm-adjusted p-values."""
    alternative = alternative_size(analysis.ttest_train_size)
    judged, info = {}, {}
    for question, members in families(pairs).items():
        run = [p for p in members if p.model in scores and p.baseline in scores]
        not_run = [p.key for p in members if p not in run]
        info[question] = {"pairs": len(members), "judged": len(run), "not_run": not_run}
        if not run:
            continue
        chosen, other = (
            judge_question(_compared(run, scores, sizes.n_train(choice), sizes, margin, metrics), metrics, len(not_run))
            for choice in (analysis.ttest_train_size, alternative))
        for key, entry in chosen.items():
            for metric in metrics:
                alt = other[key][metric]
                entry[metric] |= {"borderline": alt["verdict"] != entry[metric]["verdict"],
                                  "alternative_verdict": alt["verdict"],
                                  "alternative_p_ttest_holm": alt["p_ttest_holm"],
                                  "alternative_p_tost_holm": alt["p_tost_holm"]}
        judged[question] = chosen
    return judged, info


def judge_primary(pairs: list[Pair], scores: Scores, sizes: FoldSizes, analysis: AnalysisParams,
                  margin: float) -> dict[str, Any]:
    """The study's answer: `study.primary` on held-out accuracy, corrected t-test and TOST at ALPHA, not
    multiplicity-adjusted; borderline as for the families. Not run while either model is incomplete."""
    model, baseline = analysis.primary
    question = next((p.question for p in pairs if (p.model, p.baseline) == (model, baseline)), None)
    entry: dict[str, Any] = {"model": model, "baseline": baseline, "question": question, "metric": "accuracy",
                             "adjusted": False, "alpha": ALPHA, "ttest_train_size": analysis.ttest_train_size}
    if model not in scores or baseline not in scores:
        return entry | {"verdict": NOT_RUN}
    stats = {choice: paired_comparison(scores[model]["accuracy"], scores[baseline]["accuracy"],
                                       sizes.n_train(choice), sizes.heldout, margin)
             for choice in (analysis.ttest_train_size, alternative_size(analysis.ttest_train_size))}
    (s, alt) = stats.values()
    verdict, alt_verdict = (decide_p(x["mean_diff"], x["p_ttest"], x["p_tost"]) for x in (s, alt))
    shown = ("mean_diff", "ci95_low", "ci95_high", "p_ttest", "p_wilcoxon", "p_tost", "cohens_dz", "wins", "losses",
             "folds")
    return entry | {k: s[k] for k in shown} | {
        "verdict": verdict, "borderline": verdict != alt_verdict, "alternative_verdict": alt_verdict,
        "alternative_p_ttest": alt["p_ttest"], "alternative_p_tost": alt["p_tost"]}
