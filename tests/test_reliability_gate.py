"""The regression gate reading a damaged metrics/summary.json (truncated, not text, not an object,
not the aggregate stage's): one line naming the file, never a traceback."""

from __future__ import annotations

import argparse
from pathlib import Path

import pytest

from cnnlstm.core.errors import CnnLstmError
from cnnlstm.gate.__main__ import judge
from cnnlstm.gate.compare import Tolerance
from conftest import REPO

TOLERANCES = (Tolerance("cv.accuracy.mean", "higher", 0.03),)
NO_FOLDS = b'{"models": {"cnn": {"cv": {"accuracy": {"mean": 0.9}}}}}'


@pytest.mark.parametrize(("content", "message"), [
    (b'{"models": {"cnn": {"cv": {"acc', "not valid JSON"),  # truncated
    (b"", "not valid JSON"),
    (b"\xff\xfe\x00", "not valid JSON"),  # not UTF-8 text
    (b"[1, 2]", "expected a JSON object"),
    (NO_FOLDS, "has no folds_sha256"),
])
def test_gate_reading_a_damaged_summary_is_one_line(tmp_path, content, message):
    summary = tmp_path / "metrics" / "summary.json"
    summary.parent.mkdir()
    summary.write_bytes(content)
    args = argparse.Namespace(repo=REPO, baseline=Path("gate/baseline.json"), markdown=None, profile="p")
    with pytest.raises(CnnLstmError) as error:
        judge(args, tmp_path, {}, "protocol", None, TOLERANCES)
    assert str(error.value).startswith(f"{summary}: ") and message in str(error.value)
    assert "\n" not in str(error.value)
