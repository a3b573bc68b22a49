"""Verdicts on a paired comparison, from Holm-adjusted p-values: better / worse / equivalent /
inconclusive. "No difference" is never read off a non-significant p: it needs TOST
inside the equivalence margin fixed in advance (params `study.equivalence_margin`). No heavy imports: the
report reads these names too."""

from __future__ import annotations

from typing import Any

ALPHA = 0.05  # two-sided level of the corrected t-test and of each one-sided test of TOST, after Holm
BETTER, WORSE, EQUIVALENT, INCONCLUSIVE = "better", "worse", "equivalent", "inconclusive"
VERDICTS = (BETTER, WORSE, EQUIVALENT, INCONCLUSIVE)
# A pair of its question's fixed family that has no complete runs (a model not run, or incomplete): it is
# not judged, and counts in its family's Holm adjustment with p = 1 (docs/preregistration.md).
NOT_RUN = "not run"
SUMMARY_ONLY = "summary only"  # a budget point without per-fold files: its pairs are shown, not judged again


def below_alpha(p: float | None) -> bool:
    """An undefined p (no variance across folds) is never significant."""
    return p is not None and p < ALPHA


def decide(stats: dict[str, Any]) -> str:
    """The verdict on `model - baseline` (higher is better) from the Holm-adjusted corrected t-test
    (primary) and TOST. A significant difference wins over equivalence: a small but consistent
    difference is still reported as one, flagged `within_margin`."""
    return decide_p(stats["mean_diff"], stats["p_ttest_holm"], stats["p_tost_holm"])


def decide_p(mean_diff: float, p_ttest: float | None, p_tost: float | None) -> str:
    """The verdict from a t-test p and a TOST p, adjusted or not (the primary pair's are not)."""
    if below_alpha(p_ttest):
        return BETTER if mean_diff > 0 else WORSE
    return EQUIVALENT if below_alpha(p_tost) else INCONCLUSIVE
