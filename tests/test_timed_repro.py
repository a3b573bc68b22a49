"""`make repro`'s study progress and per-stage timing log, driven by a stand-in `dvc` that prints
what DVC prints."""

from __future__ import annotations

import os
import stat
from pathlib import Path

import pytest
import yaml

from cnnlstm.gate.workspace import dvc
from cnnlstm.study_progress import ESTIMATES, StudyProgress, announce, prior_seconds, stages_to_run
from cnnlstm.timed_repro import run
from conftest import REPO, machine_params

FAKE_DVC = """#!/bin/sh
echo "$*" >> calls.log
case "$1" in
  config) [ -n "$FAKE_REMOTE" ] && echo store || exit 1 ;;
  pull|push) exit 0 ;;
  status) echo '{"train@cnn16-0": [{"changed deps": {"src/cnnlstm/models": "modified"}}]}' ;;
  dag) printf 'strict digraph {\\n"split";\\n"train@cnn16-0";\\n"train@cnn16-1";\\n"evaluate@cnn16-0";\\n'
       printf '"split" -> "train@cnn16-0";\\n"train@cnn16-0" -> "evaluate@cnn16-0";\\n}\\n' ;;
  repro)
    [ "$3" = "-q" ] && exit 0  # the data stages, before the plan
    [ "$3" = "train@cnn16-0" ] && { echo "Running stage 'train@cnn16-0':"; echo "> python stages/train.py cnn16 0"; sleep 0.2; exit 0; }
    [ -n "$FAKE_REMOTE" ] && exit 0
    echo "Running stage 'train@cnn16-0':"
    echo "> python stages/train.py cnn16 0"
    sleep 0.2
    echo "Stage 'split' didn't change, skipping"
    echo "Running stage 'evaluate@cnn16-0':"
    echo "args: $*"
    exit 3 ;;
esac
"""
DAG = """strict digraph {
"split";
"train@a-0";
"train@a-1";
"evaluate@a";
"aggregate";
"split" -> "train@a-0";
"split" -> "train@a-1";
"train@a-0" -> "evaluate@a";
"train@a-1" -> "evaluate@a";
"evaluate@a" -> "aggregate";
}
"""


@pytest.fixture
def fake_dvc(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    bin_dir = tmp_path / "bin"
    bin_dir.mkdir()
    dvc = bin_dir / "dvc"
    dvc.write_text(FAKE_DVC)
    dvc.chmod(dvc.stat().st_mode | stat.S_IEXEC)
    monkeypatch.setenv("PATH", f"{bin_dir}{os.pathsep}{os.environ['PATH']}")
    (tmp_path / "params.yaml").write_text(yaml.safe_dump(machine_params(yaml.safe_load((REPO / "params.yaml").read_text()))))
    monkeypatch.chdir(tmp_path)
    monkeypatch.setattr("cnnlstm.timed_repro.run_cached", lambda stages: set())  # no DVC repository here
    return tmp_path / "calls.log"


def test_log_progress_and_dvc_exit_code(tmp_path: Path, fake_dvc: Path, capsys: pytest.CaptureFixture[str]) -> None:
    assert run(["--keep-going"], tmp_path / "timing") == 3  # DVC's exit code passes through

    echoed = capsys.readouterr().out
    assert "args: repro --pull --keep-going" in echoed and "didn't change" in echoed
    assert "[study] 1 of 2 model x fold runs done" in echoed and "1 to train" in echoed
    assert "2 stages to run, expected about" in echoed and "(from " in echoed
    assert "[study] stage 1 of 2: train@cnn16-0;" in echoed and "[study] stage 2 of 2: evaluate@cnn16-0;" in echoed
    [log] = (tmp_path / "timing").glob("repro-*.tsv")
    rows = [line.split("\t") for line in log.read_text().splitlines() if not line.startswith("#")]
    assert rows[0] == ["stage", "started_utc", "seconds"]
    stages = {row[0]: float(row[2]) for row in rows[1:]}
    assert list(stages) == ["train@cnn16-0", "evaluate@cnn16-0", "total"]
    assert stages["train@cnn16-0"] >= 0.2  # until the next stage started
    assert stages["total"] >= stages["train@cnn16-0"] + stages["evaluate@cnn16-0"]
    assert log.read_text().rstrip().endswith("# dvc exit code 3")
    assert "# train epochs: " in log.read_text() and "push" not in fake_dvc.read_text()  # no remote, no push


def test_with_a_remote_it_pulls_first_and_pushes_each_trained_run(tmp_path: Path, fake_dvc: Path,
                                                                  monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("FAKE_REMOTE", "1")
    assert run([], tmp_path / "timing") == 0
    calls = fake_dvc.read_text().splitlines()
    repro = [call for call in calls if call.startswith(("repro", "push", "pull"))]
    # pull, the data stages, then each train stage alone and pushed once it ran, then the rest (nothing ran: no push)
    assert repro == ["pull --run-cache -q", "repro --pull -q split", "repro --pull train@cnn16-0",
                     "push --run-cache -q", "repro --pull"]


def test_stages_to_run_are_the_changed_ones_and_everything_downstream() -> None:
    assert stages_to_run({"train@a-1": []}, DAG) == ["train@a-1", "evaluate@a", "aggregate"]
    assert stages_to_run({}, DAG) == []
    assert stages_to_run({}, DAG, force=True) == ["split", "train@a-0", "train@a-1", "evaluate@a", "aggregate"]


def test_eta_uses_the_finished_stages_mean_by_kind() -> None:
    now = [0.0]
    planned = ["train@a-0", "train@a-1", "train@a-2", "evaluate@a"]
    progress = StudyProgress(planned, epochs=1.0, clock=lambda: now[0])
    assert progress.line("> python stages/train.py") is None
    assert progress.line("Running stage 'train@a-0':").startswith("stage 1 of 4: train@a-0;")
    now[0] = 60.0
    progress.line("Running stage 'train@a-1':")
    # two train stages left at the finished one's 60 s; evaluate from the CPU table, scaled by how
    # much faster this machine ran train than the table says
    speed = 60.0 / prior_seconds("train@a-0", ESTIMATES["cpu"], 1.0)
    assert progress._estimate("train@a-2") == 60.0
    assert progress._estimate("evaluate@a") == pytest.approx(speed * ESTIMATES["cpu"]["evaluate"])
    now[0] = 100.0
    line = progress.line("Running stage 'train@a-2':")
    # train: the mean of 60 s and 40 s; evaluate: 61 s x 100 s / (2 x 54 s) of the table's train
    assert line.startswith("stage 3 of 4: train@a-2; 1m40s elapsed, about 1m46s left")


def test_announce_gives_cpu_and_gpu_estimates() -> None:
    line = announce(["train@a-0", "evaluate@a"], epochs=2.0)
    # without bf16: 18 + 2 x 36 + 61 s; with it: 7 + 2 x 15 + 37 s; GPU: 15 + 2 x 3 + 20 s
    assert line == ("2 stages to run; expected about 2m31s on a 2-core CPU without native bf16, "
                    "1m14s on one with it, 41s on one GPU (estimates: cnnlstm/study_progress.py)")
    assert announce([], epochs=2.0).startswith("nothing to run")


def test_gate_streams_dvc_output_to_its_progress(tmp_path: Path) -> None:
    """The gate's long `dvc repro` goes to a log file and, line by line, to its progress."""
    lines: list[str] = []
    output = dvc(tmp_path, "version", log=tmp_path / "dvc.log", on_line=lines.append)
    assert lines and "".join(lines) == output == (tmp_path / "dvc.log").read_text()


def test_the_prior_is_this_machine_kinds_timing_logs_scaled_to_the_epochs(tmp_path: Path) -> None:
    from cnnlstm.study_progress import Prior, measured

    (tmp_path / "repro-1.tsv").write_text(
        "# dvc repro --pull \n# machine: cpu X, 2 CPUs, native bf16\n# train epochs: 2\nstage\tstarted_utc\tseconds\n"
        "train@a-0\t-\t100.0\ntrain@a-1\t-\t120.0\ntrain@a-2\t-\t300.0\nevaluate@a\t-\t30.0\ntotal\t\t550.0\n")
    (tmp_path / "repro-2.tsv").write_text(  # another machine, and a log without epochs: both ignored
        "# machine: cpu Y, 2 CPUs, no native bf16\n# train epochs: 2\nstage\tstarted_utc\tseconds\ntrain@a-0\t-\t9.0\n")
    history = measured(tmp_path, "cpu X, 2 CPUs, native bf16", epochs=30)
    prior = Prior(history, "cpu_bf16", epochs=30)
    assert prior.seconds("train@b-0") == 120.0 * 15 and prior.seconds("evaluate_hybrid") == 30.0  # medians
    assert prior.seconds("aggregate") == ESTIMATES["cpu_bf16"]["aggregate"]  # a kind never timed: the table
    assert "4 stages timed earlier" in prior.source()
    assert "table for a 2-core CPU with native bf16" in Prior({}, "cpu_bf16", 30).source()


def test_with_a_prior_the_eta_moves_smoothly_from_it() -> None:
    from cnnlstm.study_progress import PRIOR_WEIGHT, Prior

    now = [0.0]
    progress = StudyProgress(["train@a-0", "train@a-1"], 1.0, clock=lambda: now[0],
                             prior=Prior({"train": [100.0]}, "cpu", 1.0))
    progress.line("Running stage 'train@a-0':")
    now[0] = 40.0
    progress.line("Running stage 'train@a-1':")
    assert progress._estimate("train@a-1") == (40.0 + PRIOR_WEIGHT * 100.0) / (1 + PRIOR_WEIGHT)  # not 40 at once


def test_a_stage_restored_from_the_run_cache_leaves_the_plan_and_the_eta() -> None:
    """`make repro` on a clone restores most train stages from the run-cache ("is cached - skipping
    run", no "Running stage" line): they must not stay in the ETA at a full training's estimate."""
    now = [0.0]
    progress = StudyProgress(["train@a-0", "train@a-1", "evaluate@a"], 1.0, clock=lambda: now[0])
    assert progress.line("Stage 'train@a-0' is cached - skipping run, checking out outputs") is None
    progress.line("Stage 'train@a-1' didn't change, skipping")
    assert progress.line("Running stage 'evaluate@a':").startswith("stage 1 of 1: evaluate@a;")
    assert progress.planned == ["evaluate@a"]
