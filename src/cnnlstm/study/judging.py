"""Holm within each research question, then a verdict per pair (study.verdicts.decide)."""

from __future__ import annotations

from typing import Any

from cnnlstm.evaluation.metrics import rounded
from cnnlstm.study.stats import holm
from cnnlstm.study.verdicts import below_alpha, decide

HOLM_ADJUSTED = ("p_ttest", "p_wilcoxon", "p_tost")  # each gets a `<name>_holm` next to the raw p


def judge_question(pairs: dict[str, dict[str, Any]], metrics: tuple[str, ...], not_run: int = 0) -> dict[str, dict[str, Any]]:
    """`pairs` of one question ({key: {"model", "baseline", metric: statistics}}) with, for each metric
    separately (one Holm family per question and metric), Holm-adjusted p-values, the verdict and
    whether TOST places the difference inside the margin. `not_run` more pairs of the question's fixed
    family were not run: each enters the family with p = 1, so the family never shrinks."""
    judged = {key: dict(entry) for key, entry in pairs.items()}
    for metric in metrics:
        keys = [key for key, entry in pairs.items() if metric in entry]
        adjusted = {name: holm([pairs[key][metric][name] for key in keys] + [1.0] * not_run)
                    for name in HOLM_ADJUSTED}
        for i, key in enumerate(keys):
            stats = dict(pairs[key][metric])
            stats.update({f"{name}_holm": rounded(adjusted[name][i]) for name in HOLM_ADJUSTED})
            stats["within_margin"] = below_alpha(stats["p_tost_holm"])
            stats["verdict"] = decide(stats)
            stats["family"] = len(keys) + not_run
            judged[key][metric] = stats
    return judged
