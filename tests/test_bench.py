"""The benchmark's pieces run end to end on one tiny model (no timing is asserted: speed is the
benchmark's job, not the test suite's)."""

from __future__ import annotations

import importlib
from pathlib import Path

import pytest
import torch
import yaml

from cnnlstm.core.params import load_params
from cnnlstm.core.runtime import resolve_runtime
from conftest import REPO, synthetic_split

TINY = {"name": "tiny", "family": "cnn_lstm", "channels": [4], "hidden": 8}


@pytest.fixture
def bench(monkeypatch: pytest.MonkeyPatch):
    """bench/ modules import each other by name, as when run as a script."""
    monkeypatch.syspath_prepend(str(REPO / "bench"))
    return {name: importlib.import_module(name) for name in ("benchmark", "machine", "measure", "naive")}


@pytest.fixture
def tiny_params(tmp_path: Path, base_params: dict) -> Path:
    base_params["model"] = TINY
    base_params["models"] = {}
    base_params["study"] = {"models": []}
    base_params["train"]["batch_size"] = 16
    base_params["eval"]["batch_size"] = 50
    path = tmp_path / "params.yaml"
    path.write_text(yaml.safe_dump(base_params))
    return path


def test_measurements_run_on_a_tiny_model(bench, tiny_params: Path) -> None:
    measure = bench["measure"]
    params = load_params(tiny_params)
    runtime = resolve_runtime("cpu", "fp32", threads=1)
    images, labels = (torch.from_numpy(a) for a in synthetic_split(64))
    model = bench["benchmark"].build(params, "tiny")
    window = measure.Window(0.0, 1)
    assert measure.training_rate(model, images, labels.long(), params.train, runtime, window) > 0
    assert measure.inference_rate(model, images, runtime, batch_size=100, window=window) > 0  # batch > images
    assert measure.latency_ms(model, images, runtime, window) > 0
    assert bench["machine"].matmul_peak(runtime.device, torch.float32, seconds=0.0) > 0


def test_flops_count_the_row_lstm(bench) -> None:
    """oneDNN's fused LSTM is invisible to FlopCounterMode; with oneDNN off every matmul counts."""
    hidden = 8
    model = bench["benchmark"].build(load_params(REPO / "params.yaml"), "lstm")
    model.body.reader.layers[0] = torch.nn.LSTM(28, hidden, batch_first=True)
    model.head = torch.nn.Linear(hidden, 10)
    per_step = 2 * 4 * hidden * (28 + hidden)  # input and recurrent projections of 4 gates
    assert bench["measure"].flops_per_image(model) == 28 * per_step + 2 * hidden * 10


def test_naive_reference_reads_our_raw_files(bench, synthetic_raw: Path, tmp_path: Path) -> None:
    naive = bench["naive"]
    data = naive.dataset(naive.prepare_root(synthetic_raw, tmp_path / "torchvision"))
    assert len(data) == 200
    model = bench["benchmark"].build(load_params(REPO / "params.yaml"), "lstm")
    assert naive.training_rate(model, data, torch.device("cpu"), bench["measure"].Window(0.0, 1)) > 0


def test_benchmark_prints_a_row_per_model(bench, tiny_params: Path, synthetic_raw: Path, capsys) -> None:
    bench["benchmark"].main(["--params", str(tiny_params), "--raw", str(synthetic_raw), "--quick", "--threads", "1"])
    out = capsys.readouterr().out
    assert "matmul peak" in out and "ISA" in out
    assert any(line.startswith("| tiny ") for line in out.splitlines())


def test_unknown_model_is_a_one_line_error(bench, tiny_params: Path, synthetic_raw: Path, capsys) -> None:
    with pytest.raises(SystemExit):
        bench["benchmark"].main(["--params", str(tiny_params), "--raw", str(synthetic_raw), "--models", "nope"])
    assert "unknown model 'nope'" in capsys.readouterr().err
