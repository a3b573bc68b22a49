"""`make repro`'s per-stage timing log, driven by a stand-in `dvc` that prints what DVC prints."""

from __future__ import annotations

import os
import stat
from pathlib import Path

import pytest

from cnnlstm.timed_repro import run

FAKE_DVC = """#!/bin/sh
echo "Running stage 'train@cnn16-0':"
echo "> python stages/train.py cnn16 0"
sleep 0.2
echo "Stage 'split' didn't change, skipping"
echo "Running stage 'evaluate@cnn16-0':"
echo "args: $*"
exit 3
"""


def test_log_has_one_row_per_stage_and_dvc_exit_code(tmp_path: Path, monkeypatch: pytest.MonkeyPatch,
                                                     capsys: pytest.CaptureFixture[str]) -> None:
    bin_dir = tmp_path / "bin"
    bin_dir.mkdir()
    dvc = bin_dir / "dvc"
    dvc.write_text(FAKE_DVC)
    dvc.chmod(dvc.stat().st_mode | stat.S_IEXEC)
    monkeypatch.setenv("PATH", f"{bin_dir}{os.pathsep}{os.environ['PATH']}")

    assert run(["--keep-going"], tmp_path / "timing") == 3  # DVC's exit code passes through

    echoed = capsys.readouterr().out
    assert "args: repro --keep-going" in echoed and "didn't change" in echoed
    [log] = (tmp_path / "timing").glob("repro-*.tsv")
    rows = [line.split("\t") for line in log.read_text().splitlines() if not line.startswith("#")]
    assert rows[0] == ["stage", "started_utc", "seconds"]
    stages = {row[0]: float(row[2]) for row in rows[1:]}
    assert list(stages) == ["train@cnn16-0", "evaluate@cnn16-0", "total"]
    assert stages["train@cnn16-0"] >= 0.2  # until the next stage started
    assert stages["total"] >= stages["train@cnn16-0"] + stages["evaluate@cnn16-0"]
    assert log.read_text().rstrip().endswith("# dvc exit code 3")
