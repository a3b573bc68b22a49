"""Across folds: mean ± std per model, fold-ensemble test metrics, paired comparisons."""

from __future__ import annotations

from typing import Any

import numpy as np

from cnnlstm.models.cost import architecture_cost
from cnnlstm.evaluation.metrics import SCALAR_METRICS, classification_metrics, rounded
from cnnlstm.study.conditions import study_conditions
from cnnlstm.study.labels import proposed_label
from cnnlstm.study.analysis import analysis_record, judge_families, judge_primary
from cnnlstm.study.pairs import comparison_pairs, is_hybrid
from cnnlstm.study.questions import COMPARED_METRICS, REFERENCE_ROW_LSTM_ACCURACY, REFERENCE_SOURCE
from cnnlstm.study.stats import accuracy_vs_reference
from cnnlstm.study.runs import FoldSizes, Run, ensemble_probs
from cnnlstm.study.verdicts import ALPHA
from cnnlstm.core.params import Params

SUMMARY_STATISTICS = (
    "mean_diff", "ci95_low", "ci95_high", "p_ttest", "p_ttest_holm", "p_wilcoxon", "p_wilcoxon_holm",
    "p_tost", "p_tost_holm", "within_margin", "verdict", "cohens_dz", "wins", "losses", "folds", "family",
    "borderline", "alternative_verdict", "alternative_p_ttest_holm", "alternative_p_tost_holm",
)


def fold_scores(runs: list[Run], metric: str) -> np.ndarray:
    """(folds,) held-out values of one scalar metric of one model, in fold order."""
    return np.array([run.metrics["heldout"][metric] for run in runs], dtype=np.float64)


def model_summary(runs: list[Run], cost: dict[str, int]) -> tuple[dict[str, Any], dict[str, Any]]:
    """(summary entry, test-ensemble metrics incl. per-class) of one model's fold runs; `cost`
    holds the architecture's parameters and FLOPs per image."""
    cv = {}
    for metric in SCALAR_METRICS:
        scores = fold_scores(runs, metric)
        cv[metric] = {"mean": rounded(scores.mean()), "std": rounded(scores.std(ddof=1))}
    predictions = runs[0].predictions
    ensemble = classification_metrics(predictions.test_labels, ensemble_probs(runs), "fold ensemble")
    entry = {
        "cv": cv,
        "test_ensemble": {metric: ensemble[metric] for metric in SCALAR_METRICS},
        "params": cost["params"],
        "flops_per_image": cost["flops_per_image"],
    }
    return entry, ensemble


def compare(params: Params, study: dict[str, list[Run]], sizes: FoldSizes
            ) -> tuple[dict[str, dict[str, Any]], dict[str, dict[str, Any]], dict[str, Any]]:
    """(every judged comparison, each question's family, the primary pair): the pairs of every question's
    fixed family whose models are complete, on each of COMPARED_METRICS, Holm within the family (pairs not
    run count with p = 1), under both t-test fold sizes:
    {question: {"<model>-vs-<baseline>": {"model", "baseline", metric: statistics}}}."""
    scores = {name: {metric: fold_scores(runs, metric) for metric in COMPARED_METRICS} for name, runs in study.items()}
    pairs = comparison_pairs(params)
    comparisons, families = judge_families(pairs, scores, sizes, params.analysis, params.equivalence_margin,
                                           COMPARED_METRICS)
    return comparisons, families, judge_primary(pairs, scores, sizes, params.analysis, params.equivalence_margin)


def reference_comparison(study: dict[str, list[Run]]) -> dict[str, Any]:
    """Each model's fold ensemble on the test set against the proposal's row-LSTM test accuracy:
    test-set numbers against a test-set figure (exact binomial test and interval)."""
    models = {}
    for name, runs in study.items():
        labels = runs[0].predictions.test_labels
        correct = int((ensemble_probs(runs).argmax(axis=1) == labels).sum())
        test = accuracy_vs_reference(correct, len(labels), REFERENCE_ROW_LSTM_ACCURACY)
        models[name] = {"test_accuracy": rounded(test.accuracy), "ci95_low": rounded(test.ci_low),
                        "ci95_high": rounded(test.ci_high), "p_binomial": rounded(test.p)}
    return {"accuracy": REFERENCE_ROW_LSTM_ACCURACY, "split": "test", "source": REFERENCE_SOURCE, "models": models}


def accuracy_view(comparisons: dict[str, dict[str, Any]]) -> dict[str, dict[str, Any]]:
    """The comparisons as summary.json holds them: accuracy only, the statistics the report states
    (the full set, for every compared metric, is in reports/tables/comparisons.csv)."""
    return {
        question: {
            key: {"model": e["model"], "baseline": e["baseline"],
                  "accuracy": {stat: e["accuracy"][stat] for stat in SUMMARY_STATISTICS}}
            for key, e in pairs.items()
        }
        for question, pairs in comparisons.items()
    }


def summarize(
    params: Params, folds_sha256: str, study: dict[str, list[Run]], sizes: FoldSizes,
    incomplete: dict[str, list[Run]],
) -> tuple[dict[str, Any], dict[str, dict[str, Any]], dict[str, dict[str, Any]]]:
    """(metrics/summary.json's content, each model's full test-ensemble metrics, every comparison).
    `study` holds the complete models; `incomplete` the others' runs so far: they are counted and their
    recipe checked with the rest, never summarised, and their pairs are not judged."""
    configs = params.configs
    folds = len(params.cv.fold_ids)
    models, ensembles = {}, {}
    for name, runs in study.items():
        models[name], ensembles[name] = model_summary(runs, architecture_cost(*configs[name]))
    comparisons, families, primary = compare(params, study, sizes)
    every_run = [run for group in (study, incomplete) for model_runs in group.values() for run in model_runs]
    by_accuracy = sorted(study, key=lambda name: -models[name]["cv"]["accuracy"]["mean"])
    hybrids = [name for name in by_accuracy if is_hybrid(configs[name][0])]
    summary = {
        "folds_sha256": folds_sha256,
        "folds": folds,
        "fold_sizes": {key: rounded(value) for key, value in sizes.as_dict().items()},
        "analysis": analysis_record(params.analysis, params.equivalence_margin),
        "runs": {"done": len(every_run), "of": folds * len(params.all_models)},
        "incomplete": {name: {"folds": len(r), "of": folds, "label": f"incomplete ({len(r)} of {folds} folds)"}
                       for name, r in incomplete.items()},
        "test_images": len(study[by_accuracy[0]][0].predictions.test_index),  # the same for every run
        "proposed_model": params.model["name"],
        "proposed_label": proposed_label(params),  # its display name, from its config
        "best_model": by_accuracy[0],
        "best_hybrid": hybrids[0] if hybrids else None,
        "models": models,
        "conditions": study_conditions(params, [r.train_log for r in every_run], [r.timings for r in every_run]),
        "alpha": ALPHA,
        "equivalence_margin": params.equivalence_margin,
        "primary": primary,
        "families": families,
        "comparisons": accuracy_view(comparisons),
        "reference": reference_comparison(study),
    }
    return summary, ensembles, comparisons
