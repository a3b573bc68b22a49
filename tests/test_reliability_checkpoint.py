"""A damaged checkpoint is only a lost cache: one warning line, a fresh start, the same model."""

from __future__ import annotations

import pytest

from cnnlstm.training.run import train_run
from reliability_helpers import keep_torch_threads, tiny_run  # noqa: F401


@pytest.mark.parametrize("damage", ["empty", "truncated", "garbage"])
def test_damaged_checkpoint_warns_and_trains_from_scratch(tmp_path, base_params, keep_torch_threads, capsys, damage):
    params, reference = tiny_run(tmp_path / "ref", base_params)
    train_run(params, "cnn16", 0, reference)

    params, paths = tiny_run(tmp_path / "damaged", base_params)
    paths.checkpoint.parent.mkdir()
    content = {"empty": b"", "truncated": reference.model_file.read_bytes()[:500], "garbage": b"\x00" * 4096}
    paths.checkpoint.write_bytes(content[damage])
    capsys.readouterr()
    train_run(params, "cnn16", 0, paths)
    warnings = [line for line in capsys.readouterr().err.splitlines() if line.startswith("warning:")]
    assert len(warnings) == 1 and warnings[0].startswith(f"warning: {paths.checkpoint}: ")
    assert warnings[0].endswith("ignoring the checkpoint, training from epoch 1")
    assert paths.model_file.read_bytes() == reference.model_file.read_bytes()
    assert not paths.checkpoint.exists()
