"""The benchmark's pieces run end to end on one tiny model (no timing is asserted: speed is the
benchmark's job, not the test suite's), and its configuration is its own, not params.yaml's."""

from __future__ import annotations

import importlib
import time
from pathlib import Path

import pytest
import torch
import yaml

from cnnlstm.core.runtime import cpu_has_bf16, resolve_runtime
from cnnlstm.models import cost
from conftest import REPO, synthetic_split

TINY = {
    "family": "cnn_lstm", "channels": [4], "kernel": "3x3", "kernel_width": 3, "pool": "both", "hidden": 8,
    "layers": 1, "bidirectional": False, "cell": "lstm", "readout": "last",
}


@pytest.fixture
def bench(monkeypatch: pytest.MonkeyPatch):
    """bench/ modules import each other by name, as when run as a script."""
    monkeypatch.syspath_prepend(str(REPO / "bench"))
    return {name: importlib.import_module(name) for name in ("benchmark", "machine", "measure", "naive")}


@pytest.fixture
def tiny_config(tmp_path: Path) -> Path:
    """The committed configuration with one tiny model, tiny batches and the shortest timing."""
    raw = yaml.safe_load((REPO / "bench" / "config.yaml").read_text())
    raw.update(proposed="tiny", quick_models=["tiny"], models={"tiny": TINY}, eval_batch_sizes=[50])
    raw["train"]["batch_size"] = 16
    raw["timing"] = {mode: {"repeats": 2, "seconds": 0.0} for mode in ("full", "quick")}
    raw["step"]["base"] = "HEAD"  # a revision every checkout has
    raw["step"]["timing"] = raw["timing"]
    path = tmp_path / "config.yaml"
    path.write_text(yaml.safe_dump(raw))
    return path


def test_committed_configuration_loads_and_lists_the_proposed_model(bench) -> None:
    config = bench["benchmark"].load_config()
    assert config.proposed in config.models and set(config.quick_models) <= set(config.models)


def test_side_by_side_alternates_the_loops_and_takes_the_median_ratio(bench) -> None:
    measure = bench["measure"]
    calls: list[str] = []

    def loop(name: str, images: int):
        def step() -> int:
            calls.append(name)
            time.sleep(0.005)  # the same time per call: the ratio is the ratio of images
            return images
        return step

    cpu = torch.device("cpu")
    comparison = measure.side_by_side(loop("ours", 30), loop("naive", 10), measure.Window(0.0, 2), 3, cpu)
    assert calls[:4] == ["ours", "naive", "ours", "naive"] and calls[4:6] == ["naive", "ours"]  # repeat 2 starts naive
    assert len(comparison.ratios) == 3 and comparison.speedup == pytest.approx(3.0, rel=0.5)


def test_flops_come_from_the_evaluate_stage_counter_and_count_the_row_lstm(bench) -> None:
    """One counter (cnnlstm.models.cost) for the benchmark and the evaluate stage. oneDNN's fused
    LSTM is invisible to FlopCounterMode; with oneDNN off every matmul counts."""
    assert bench["benchmark"].flops_per_image is cost.flops_per_image
    hidden = 8
    model = bench["benchmark"].build(bench["benchmark"].load_config(), "lstm")
    model.body.reader.layers[0] = torch.nn.LSTM(28, hidden, batch_first=True)
    model.head = torch.nn.Linear(hidden, 10)
    per_step = 2 * 4 * hidden * (28 + hidden)  # input and recurrent projections of 4 gates
    assert cost.flops_per_image(model) == 28 * per_step + 2 * hidden * 10


def test_measurements_run_on_a_tiny_model(bench, tiny_config: Path) -> None:
    benchmark, measure, naive = bench["benchmark"], bench["measure"], bench["naive"]
    config = benchmark.load_config(tiny_config)
    runtime = resolve_runtime("cpu", "fp32", threads=1)
    images, labels = (torch.from_numpy(a) for a in synthetic_split(64))
    window = measure.Window(0.0, 1)
    ours = measure.sized(
        measure.our_training(benchmark.build(config, "tiny"), images, labels.long(), config.train, runtime), 4, window,
        runtime.device,
    )
    assert ours() == 16
    assert measure.inference_rate(benchmark.build(config, "tiny"), images, runtime, batch_size=100, window=window) > 0
    assert bench["machine"].matmul_peak(runtime.device, torch.float32, seconds=0.0) > 0


def test_naive_reference_reads_our_raw_files_and_trains(bench, tiny_config: Path, synthetic_raw: Path,
                                                       tmp_path: Path) -> None:
    benchmark, naive = bench["benchmark"], bench["naive"]
    config = benchmark.load_config(tiny_config)
    data = naive.dataset(naive.prepare_root(synthetic_raw, tmp_path / "torchvision"), config.train.augment)
    assert len(data) == 200
    step = naive.training(benchmark.build(config, "tiny"), data, 16, resolve_runtime("cpu", "fp32", threads=1))
    assert step(2) == 32


def test_benchmark_prints_a_line_per_model_and_precision(bench, tiny_config: Path, synthetic_raw: Path,
                                                        capsys) -> None:
    bench["benchmark"].main(
        ["--config", str(tiny_config), "--raw", str(synthetic_raw), "--quick", "--threads", "1", "--part", "naive"]
    )
    out = capsys.readouterr().out
    assert "matmul peak" in out and "ISA" in out and "1 threads" in out
    precisions = [line.split("|")[2].strip() for line in out.splitlines() if line.startswith("| tiny ")]
    assert precisions == (["fp32", "bf16"] if cpu_has_bf16() else ["fp32"])  # bf16 only where the CPU has it
    assert "tiny (proposed), fp32: speed-up" in out


def test_params_yaml_does_not_change_the_benchmark(bench, tiny_config: Path, synthetic_raw: Path,
                                                   tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys) -> None:
    """A small-study override in the working directory's params.yaml is not read."""
    (tmp_path / "params.yaml").write_text("train: {batch_size: 1}\ncv: {subset: 0.001}\n")
    monkeypatch.chdir(tmp_path)
    bench["benchmark"].main(
        ["--config", str(tiny_config), "--raw", str(synthetic_raw), "--quick", "--threads", "1", "--part", "naive"]
    )
    assert "batch 16" in capsys.readouterr().out


def test_step_comparison_runs_both_trees_and_sums(bench, tiny_config: Path, synthetic_raw: Path, capsys) -> None:
    """The base revision and this tree each train in their own worker process; one row per model,
    the machine's limits, and the sum over the models."""
    bench["benchmark"].main(
        ["--config", str(tiny_config), "--raw", str(synthetic_raw), "--quick", "--threads", "1", "--part", "step"]
    )
    out = capsys.readouterr().out
    assert "copy bandwidth" in out and "matmul peak" in out and "base HEAD vs this tree" in out
    rows = [line.split("|") for line in out.splitlines() if line.startswith("| tiny ")]
    assert len(rows) == 1 and rows[0][5].strip().endswith("]")  # the speed-up with its spread
    assert "sum over 1 models" in out and "naive" not in out.split("## Training step")[1]


def test_traffic_counts_the_bytes_an_op_reads_and_writes(bench) -> None:
    a = torch.zeros(1000)
    assert bench["measure"].traffic(lambda: a + 1) == 2 * 4000  # read a, write the sum (the 1 is no tensor)


def test_unknown_model_is_a_one_line_error(bench, tiny_config: Path, synthetic_raw: Path, capsys) -> None:
    with pytest.raises(SystemExit):
        bench["benchmark"].main(["--config", str(tiny_config), "--raw", str(synthetic_raw), "--models", "nope"])
    assert "unknown model 'nope'" in capsys.readouterr().err


def test_emulated_bf16_prints_both_precisions_and_the_slow_down(bench, tiny_config: Path, capsys) -> None:
    """bf16 is forced past the refusal, on every CPU: measuring what the refusal avoids is the point."""
    importlib.import_module("emulated_bf16").main(["--config", str(tiny_config), "--repeats", "1", "--seconds", "0"])
    out = capsys.readouterr().out
    assert "1 threads" in out and "converged recipe" in out
    line = next(line for line in out.splitlines() if line.startswith("tiny: "))
    assert "fp32 " in line and "bf16 " in line and "x slower" in line and line.endswith("s per bf16 epoch")


def test_emulated_bf16_unknown_model_is_a_one_line_error(bench, tiny_config: Path, capsys) -> None:
    with pytest.raises(SystemExit):
        importlib.import_module("emulated_bf16").main(["--config", str(tiny_config), "--models", "nope"])
    assert "unknown model 'nope'" in capsys.readouterr().err
