"""Compare a run's metrics with the baseline's, metric by metric, within per-metric tolerances."""

from __future__ import annotations

import dataclasses
import math
import statistics
from pathlib import Path
from typing import Any

from cnnlstm.core.errors import CnnLstmError
from cnnlstm.gate.profile import load_mapping

Metrics = dict[str, dict[str, float]]  # model name -> metric path -> value
MEAN_ROW = "(mean)"  # the table's row for a metric averaged over all models


@dataclasses.dataclass(frozen=True)
class Tolerance:
    metric: str  # path inside a model's entry of metrics/summary.json, e.g. "cv.accuracy.mean"
    better: str  # "higher" or "lower"
    tolerance: float  # the largest change in the worse direction that still passes
    # The same for the metric averaged over all models: far less noisy than one model's value, so
    # it can be tighter and catch a small regression that hits every model (None: not checked).
    mean_tolerance: float | None = None


@dataclasses.dataclass(frozen=True)
class Check:
    model: str
    tolerance: Tolerance
    baseline: float
    now: float

    @property
    def passed(self) -> bool:
        worse_by = self.baseline - self.now if self.tolerance.better == "higher" else self.now - self.baseline
        return not math.isnan(self.now) and worse_by <= self.tolerance.tolerance


SPEC_KEYS = ("better", "tolerance", "mean_tolerance")


def load_tolerances(path: str | Path) -> tuple[Tolerance, ...]:
    """gate/tolerances.yaml:
    `metrics: {<path>: {better: higher|lower, tolerance: <float >= 0>, mean_tolerance: <optional>}}`."""
    raw = load_mapping(path).get("metrics")
    if not isinstance(raw, dict) or not raw:
        raise CnnLstmError(f"{path}: needs a non-empty mapping `metrics`")
    tolerances = []
    for metric, spec in raw.items():
        where = f"{path}: metrics.{metric}"
        if not isinstance(spec, dict) or not {"better", "tolerance"} <= set(spec) <= set(SPEC_KEYS):
            raise CnnLstmError(f"{where}: must map `better`, `tolerance` and optionally `mean_tolerance`")
        if spec["better"] not in ("higher", "lower"):
            raise CnnLstmError(f"{where}.better: must be higher or lower, got {spec['better']!r}")
        for key in ("tolerance", "mean_tolerance"):
            value = spec.get(key, 0)
            if isinstance(value, bool) or not isinstance(value, (int, float)) or value < 0:
                raise CnnLstmError(f"{where}.{key}: must be a number >= 0, got {value!r}")
        mean = spec.get("mean_tolerance")
        tolerances.append(
            Tolerance(metric, spec["better"], float(spec["tolerance"]), None if mean is None else float(mean))
        )
    return tuple(tolerances)


def _lookup(entry: Any, path: str) -> float | None:
    for key in path.split("."):
        if not isinstance(entry, dict) or key not in entry:
            return None
        entry = entry[key]
    return float(entry) if isinstance(entry, (int, float)) and not isinstance(entry, bool) else None


def gated_metrics(summary: dict[str, Any], tolerances: tuple[Tolerance, ...], source: str) -> Metrics:
    """The gated metric of every model in a metrics/summary.json mapping; all missing ones are named."""
    models = summary.get("models")
    if not isinstance(models, dict) or not models:
        raise CnnLstmError(f"{source}: no `models` mapping")
    metrics: Metrics = {}
    missing = []
    for name, entry in models.items():
        metrics[name] = {}
        for tol in tolerances:
            value = _lookup(entry, tol.metric)
            if value is None:
                missing.append(f"{name}.{tol.metric}")
            else:
                metrics[name][tol.metric] = value
    if missing:
        raise CnnLstmError(f"{source}: missing metrics {', '.join(missing)}")
    return metrics


def compare(baseline: Metrics, now: Metrics, tolerances: tuple[Tolerance, ...]) -> list[Check]:
    """One check per model and gated metric, then one per metric averaged over the models. A model
    or metric on only one side is an error: nothing to compare is never a pass."""
    only_baseline = sorted(set(baseline) - set(now))
    if only_baseline:
        raise CnnLstmError(f"models missing from this run's metrics: {', '.join(only_baseline)}")
    only_now = sorted(set(now) - set(baseline))
    if only_now:
        raise CnnLstmError(
            f"models missing from the baseline: {', '.join(only_now)} "
            "(new models need a new baseline: python -m cnnlstm.gate --update-baseline)"
        )
    checks = []
    missing = []
    for model in baseline:
        for tol in tolerances:
            if tol.metric not in baseline[model]:
                missing.append(f"{model}.{tol.metric}")
            else:
                checks.append(Check(model, tol, baseline[model][tol.metric], now[model][tol.metric]))
    if missing:
        raise CnnLstmError(
            f"metrics missing from the baseline: {', '.join(missing)} "
            "(after adding a gated metric: python -m cnnlstm.gate --update-baseline)"
        )
    for tol in tolerances:
        if tol.mean_tolerance is not None:
            checks.append(Check(
                MEAN_ROW, dataclasses.replace(tol, tolerance=tol.mean_tolerance),
                statistics.fmean(baseline[m][tol.metric] for m in baseline),
                statistics.fmean(now[m][tol.metric] for m in baseline),
            ))
    return checks


HEADER = ("model", "metric", "baseline", "now", "change", "tolerance", "verdict")


def _cells(check: Check) -> tuple[str, ...]:
    sign = "-" if check.tolerance.better == "higher" else "+"
    return (
        check.model, check.tolerance.metric, f"{check.baseline:.4f}", f"{check.now:.4f}",
        f"{check.now - check.baseline:+.4f}", f"{sign}{check.tolerance.tolerance:.4f}",
        "ok" if check.passed else "REGRESSION",
    )


def format_table(checks: list[Check]) -> str:
    """Plain-text table, one line per check, columns aligned."""
    rows = [HEADER, *(_cells(c) for c in checks)]
    widths = [max(len(row[i]) for row in rows) for i in range(len(HEADER))]
    return "\n".join("  ".join(cell.ljust(width) for cell, width in zip(row, widths)).rstrip() for row in rows)


def format_markdown(checks: list[Check]) -> str:
    """The same table in GitHub markdown (for a CI job summary)."""
    lines = ["| " + " | ".join(HEADER) + " |", "|" + "---|" * len(HEADER)]
    lines += ["| " + " | ".join(_cells(c)) + " |" for c in checks]
    return "\n".join(lines)


def verdict(checks: list[Check]) -> str:
    """One closing line: pass, or the failing checks by name."""
    failed = [f"{c.model} {c.tolerance.metric}" for c in checks if not c.passed]
    if not failed:
        return f"gate: pass ({len(checks)} checks within tolerance)"
    return f"gate: FAIL, {len(failed)} of {len(checks)} checks regressed: {', '.join(failed)}"
