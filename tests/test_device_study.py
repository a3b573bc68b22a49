"""bench/device_study.sh --cpu: the device script's whole plumbing on the CPU (smoke check, CUDA
tests (skipped), bench rows, a small dvc repro, packing), so its first GPU call is not its first run."""

from __future__ import annotations

import json
import os
import subprocess
import sys
import tarfile
from pathlib import Path

import pytest

from conftest import REPO


@pytest.mark.slow
def test_device_script_dry_run_packs_every_step(tmp_path):
    out = tmp_path / "out"
    params_before = (REPO / "params.yaml").read_text()
    env = {**os.environ, "OUT": str(out), "PATH": f"{Path(sys.executable).parent}:{os.environ['PATH']}"}
    result = subprocess.run(["bash", str(REPO / "bench/device_study.sh"), "--cpu"], cwd=REPO, env=env,
                            capture_output=True, text=True, timeout=600)
    assert result.returncode == 0, result.stdout[-3000:] + result.stderr[-3000:]
    steps = (out / "steps.txt").read_text()
    for name in ("smoke", "pytest-cuda", "bench-gpu", "study-log"):
        assert f"{name}: exit 0" in steps, steps
    assert "packing" in steps
    assert len(list(out.iterdir())) <= 8  # what the device tool brings back
    rows = (out / "bench-gpu.tsv").read_text().splitlines()
    assert rows[0].startswith("model\t") and rows[1].startswith("cnn16\t") and "error" not in rows[0]
    with tarfile.open(out / "study.tar.gz") as packed:
        run = json.load(packed.extractfile("runs/cnn32_lstm/fold0/run.json"))  # trained by this dry run
        assert "results/cnn32_lstm/fold1.metrics.json" in packed.getnames()
    assert run["step"] == "eager" and run["epochs"] == 1 and run["rnn_dtype"] in ("float32", "bfloat16")
    assert (REPO / "params.yaml").read_text() == params_before  # the study ran in a scratch copy
