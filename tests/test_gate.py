"""Regression gate logic on summary-shaped dicts: tolerances, missing data, baselines, the table."""

from __future__ import annotations

import copy
import json
import math
from pathlib import Path

import pytest
import yaml

from cnnlstm.core.errors import CnnLstmError
from cnnlstm.gate.__main__ import main
from cnnlstm.gate.baseline import changed_params, check_folds, check_protocol, load_baseline, write_baseline
from cnnlstm.gate.compare import (
    MEAN_ROW, Check, Tolerance, compare, format_markdown, format_table, gated_metrics, load_tolerances, verdict,
)
from cnnlstm.gate.profile import load_mapping, profiled_params, protocol_sha256
from cnnlstm.core.params import parse_params

REPO = Path(__file__).resolve().parents[1]
ACC = Tolerance("cv.accuracy.mean", "higher", 0.03)
LOSS = Tolerance("cv.log_loss.mean", "lower", 0.1)
TOLERANCES = (ACC, LOSS, Tolerance("test_ensemble.accuracy", "higher", 0.03))


def summary(**accuracy: float) -> dict:
    """A metrics/summary.json-shaped mapping with one entry per model."""
    return {
        "folds_sha256": "f" * 64,
        "models": {
            name: {
                "cv": {"accuracy": {"mean": acc, "std": 0.01}, "log_loss": {"mean": 1.0, "std": 0.1}},
                "test_ensemble": {"accuracy": acc + 0.01},
                "params": 1000,
            }
            for name, acc in accuracy.items()
        },
    }


@pytest.mark.parametrize(
    ("tolerance", "baseline", "now", "passed"),
    [
        (ACC, 0.80, 0.80, True),
        (ACC, 0.80, 0.95, True),  # better is always fine
        (ACC, 0.80, 0.775, True),  # a drop within tolerance
        (ACC, 0.80, 0.769, False),  # a drop beyond it
        (ACC, 0.80, math.nan, False),
        (LOSS, 1.0, 0.5, True),  # lower loss is better
        (LOSS, 1.0, 1.09, True),
        (LOSS, 1.0, 1.11, False),  # log_loss may not rise beyond its tolerance
    ],
)
def test_tolerance_direction(tolerance, baseline, now, passed):
    assert Check("m", tolerance, baseline, now).passed is passed


def test_unchanged_metrics_pass_and_a_drop_fails():
    base = gated_metrics(summary(cnn=0.8, lstm=0.7), TOLERANCES, "base")
    assert all(c.passed for c in compare(base, base, TOLERANCES))
    worse = gated_metrics(summary(cnn=0.8, lstm=0.5), TOLERANCES, "now")
    failed = [(c.model, c.tolerance.metric) for c in compare(base, worse, TOLERANCES) if not c.passed]
    assert failed == [("lstm", "cv.accuracy.mean"), ("lstm", "test_ensemble.accuracy")]


def test_mean_over_models_catches_a_small_drop_of_every_model():
    tolerances = (Tolerance("cv.accuracy.mean", "higher", 0.12, mean_tolerance=0.04),)
    base = gated_metrics(summary(cnn=0.8, lstm=0.7, mlp=0.6), tolerances, "base")
    now = gated_metrics(summary(cnn=0.75, lstm=0.65, mlp=0.55), tolerances, "now")
    checks = compare(base, now, tolerances)
    assert [(c.model, c.passed) for c in checks] == [("cnn", True), ("lstm", True), ("mlp", True), (MEAN_ROW, False)]
    assert checks[-1].baseline == pytest.approx(0.7) and checks[-1].now == pytest.approx(0.65)


def test_tolerances_file_with_means(tmp_path):
    path = tmp_path / "tolerances.yaml"
    path.write_text("metrics: {cv.log_loss.mean: {better: lower, tolerance: 0.2, mean_tolerance: 0.05}}")
    assert load_tolerances(path) == (Tolerance("cv.log_loss.mean", "lower", 0.2, 0.05),)


def test_missing_metric_is_an_error_naming_it():
    data = summary(cnn=0.8, lstm=0.7)
    del data["models"]["lstm"]["test_ensemble"]
    with pytest.raises(CnnLstmError, match=r"run.json: missing metrics lstm\.test_ensemble\.accuracy$"):
        gated_metrics(data, TOLERANCES, "run.json")


def test_model_missing_from_the_run_is_an_error_not_a_pass():
    base = gated_metrics(summary(cnn=0.8, lstm=0.7), TOLERANCES, "base")
    now = gated_metrics(summary(cnn=0.8), TOLERANCES, "now")
    with pytest.raises(CnnLstmError, match="models missing from this run's metrics: lstm"):
        compare(base, now, TOLERANCES)


def test_model_missing_from_the_baseline_is_an_error():
    base = gated_metrics(summary(cnn=0.8), TOLERANCES, "base")
    now = gated_metrics(summary(cnn=0.8, lstm=0.7), TOLERANCES, "now")
    with pytest.raises(CnnLstmError, match="models missing from the baseline: lstm .*--update-baseline"):
        compare(base, now, TOLERANCES)


def test_metric_missing_from_the_baseline_is_an_error():
    base = gated_metrics(summary(cnn=0.8), TOLERANCES[:1], "base")
    now = gated_metrics(summary(cnn=0.8), TOLERANCES, "now")
    with pytest.raises(CnnLstmError, match=r"metrics missing from the baseline: cnn\.cv\.log_loss\.mean, "):
        compare(base, now, TOLERANCES)


def test_table_names_the_failing_metric():
    base = gated_metrics(summary(cnn=0.8, lstm=0.7), TOLERANCES, "base")
    now = gated_metrics(summary(cnn=0.8, lstm=0.1), TOLERANCES, "now")
    checks = compare(base, now, TOLERANCES)
    table = format_table(checks).splitlines()
    assert table[0].split() == ["model", "metric", "baseline", "now", "change", "tolerance", "verdict"]
    assert table[4].split() == ["lstm", "cv.accuracy.mean", "0.7000", "0.1000", "-0.6000", "-0.0300", "REGRESSION"]
    assert table[5].split()[-1] == "ok" and table[5].split()[-2] == "+0.1000"  # log_loss: may rise by
    assert verdict(checks).startswith("gate: FAIL, 2 of 6 checks regressed: lstm cv.accuracy.mean, ")
    assert "| lstm | cv.accuracy.mean | 0.7000 | 0.1000 |" in format_markdown(checks)
    assert verdict(compare(base, base, TOLERANCES)) == "gate: pass (6 checks within tolerance)"


@pytest.mark.parametrize(
    ("text", "message"),
    [
        ("metrics: {}", "needs a non-empty mapping `metrics`"),
        ("metrics: {a.b: {better: up, tolerance: 0.1}}", r"metrics\.a\.b\.better: must be higher or lower"),
        ("metrics: {a.b: {better: higher, tolerance: -1}}", r"metrics\.a\.b\.tolerance: must be a number >= 0"),
        ("metrics: {a.b: {better: higher}}", "must map `better`, `tolerance` and optionally `mean_tolerance`"),
        ("metrics: {a.b: {better: higher, tolerance: 1, typo: 1}}", "must map `better`, `tolerance`"),
        ("metrics: {a.b: {better: higher, tolerance: 1, mean_tolerance: x}}", r"mean_tolerance: must be a number"),
    ],
)
def test_bad_tolerances_name_the_key(tmp_path, text, message):
    path = tmp_path / "tolerances.yaml"
    path.write_text(text)
    with pytest.raises(CnnLstmError, match=message):
        load_tolerances(path)


def test_baseline_round_trip_and_refusals(tmp_path):
    path = tmp_path / "baseline.json"
    metrics = gated_metrics(summary(cnn=0.8), TOLERANCES, "s")
    write_baseline(path, metrics, profile="p.yaml", protocol_sha256="a" * 64, folds_sha256="b" * 64, params={"x": 1})
    baseline = load_baseline(path)
    assert baseline["models"] == metrics
    check_protocol(baseline, path, "a" * 64)
    check_folds(baseline, path, "b" * 64)
    with pytest.raises(CnnLstmError, match="baseline was made with another profile .*--update-baseline"):
        check_protocol(baseline, path, "c" * 64)
    with pytest.raises(CnnLstmError, match="baseline was scored on other folds"):
        check_folds(baseline, path, "c" * 64)


def test_missing_or_foreign_baseline_file(tmp_path):
    with pytest.raises(CnnLstmError, match=r"nope\.json: baseline file not found; create it with `python -m cnnlstm"):
        load_baseline(tmp_path / "nope.json")
    (tmp_path / "other.json").write_text(json.dumps({"models": {}}))
    with pytest.raises(CnnLstmError, match="other.json: not a format-1 gate baseline"):
        load_baseline(tmp_path / "other.json")


def test_changed_params_lists_dotted_keys():
    old = {"model": {"hidden": 128, "bidirectional": False}, "train": {"lr": 0.003}}
    new = copy.deepcopy(old)
    new["model"]["bidirectional"] = True
    assert changed_params(old, new) == ["model.bidirectional: False -> True"]


def test_committed_baseline_matches_the_profile_and_the_study():
    """A stale baseline (profile, cv/eval params or model list changed) fails here, in seconds."""
    profile = load_mapping(REPO / "profiles/smoke.yaml")
    params = profiled_params(REPO / "params.yaml", REPO / "profiles/smoke.yaml")
    baseline = load_baseline(REPO / "gate/baseline.json")
    check_protocol(baseline, "gate/baseline.json", protocol_sha256(profile, params))
    assert set(baseline["models"]) == set(parse_params(params).all_models)
    tolerances = load_tolerances(REPO / "gate/tolerances.yaml")
    compare(baseline["models"], baseline["models"], tolerances)  # every gated metric is recorded


def test_cli_refuses_a_missing_baseline_before_running(tmp_path, capsys):
    with pytest.raises(SystemExit) as exit_info:
        main(["--repo", str(REPO), "--baseline", str(tmp_path / "missing.json")])
    assert exit_info.value.code == 1
    assert "missing.json: baseline file not found" in capsys.readouterr().err


def test_cli_refuses_a_baseline_of_another_profile_before_running(tmp_path, capsys):
    other = tmp_path / "other.yaml"
    other.write_text(yaml.safe_dump({**load_mapping(REPO / "profiles/smoke.yaml"), "train": {"epochs": 3}}))
    with pytest.raises(SystemExit) as exit_info:
        main(["--repo", str(REPO), "--profile", str(other), "--workdir", str(tmp_path / "work")])
    assert exit_info.value.code == 1
    assert "baseline was made with another profile" in capsys.readouterr().err


def test_cli_refuses_an_existing_workdir(tmp_path, capsys):
    with pytest.raises(SystemExit):
        main(["--repo", str(REPO), "--workdir", str(tmp_path)])
    assert "--workdir must be a new folder" in capsys.readouterr().err


def test_cli_check_refuses_a_run_off_the_profile(tmp_path, capsys):
    (tmp_path / "params.yaml").write_text((REPO / "params.yaml").read_text())  # the full study, no profile
    with pytest.raises(SystemExit):
        main(["--repo", str(REPO), "--check", str(tmp_path)])
    assert "params.yaml: not on the profile profiles/smoke.yaml" in capsys.readouterr().err
