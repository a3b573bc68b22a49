"""scripts/study_queue.sh's priority order for the committed params.yaml (`--list` reads it and trains
nothing): the study, the convergence check, Amendment 1's extension with the primary pair first, then
the other seeds (docs/preregistration.md)."""

from __future__ import annotations

import subprocess

import yaml

from conftest import REPO


def test_the_extension_comes_after_the_check_and_before_the_other_seeds() -> None:
    listed = subprocess.run(["bash", "scripts/study_queue.sh", "--list"], cwd=REPO, capture_output=True, text=True,
                            check=True).stdout.splitlines()
    params = yaml.safe_load((REPO / "params.yaml").read_text())
    study, check = params["train"]["epochs"], params["study"]["convergence_epochs"]
    extension = [line for line in listed if line.endswith(f" train.epochs={2 * study}")]
    folds, main = len(params["cv"]["fold_ids"]), params["study"]["main_models"]
    assert len(extension) == folds * len(main) and len(set(listed)) == len(listed)
    position = {line: i for i, line in enumerate(listed)}
    assert max(position[line] for line in listed if line.endswith(f" train.epochs={check}")) < position[extension[0]]
    assert position[extension[-1]] < min(position[line] for line in listed if " train.seed=" in line)
    primary = 2 * folds  # the hybrid and cnn32, fold by fold, odd folds reversed so that two workers share both
    assert [line.split()[0] for line in extension[:4]] == ["train_hybrid@0", "train@cnn32-0", "train@cnn32-1",
                                                           "train_hybrid@1"]
    assert {line.split("@")[1].split("-")[0] for line in extension[primary:]} == {"cnn32_bilstm", "cnn32_wide"}
