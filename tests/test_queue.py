"""A queued sweep as the README shows it: two experiments on the proposed model, run by two
queue workers, each rerunning only the proposed model's stages and those downstream, then one
compact table of each experiment's mean accuracy."""

from __future__ import annotations

import re
import time

import pytest

from cnnlstm.gate.workspace import dvc
from cnnlstm.core.params import load_params
from smoke_fixtures import CLONES_GROUP, clone, needs_dataset

pytestmark = [pytest.mark.slow, needs_dataset]
QUEUE_TIMEOUT_S = 1200
POLL_S = 15  # each `dvc queue status` costs about a CPU-second, taken from the two queued experiments
PROPOSED_MODEL_AND_DOWNSTREAM = {
    "train_hybrid@0", "train_hybrid@1", "evaluate_hybrid", "collect", "aggregate", "plots", "report",
    "ship",  # its deps include every model file: it reruns whenever one changes
    "budget", "seeds",  # the pre-registered families come from every configured model, the proposed one too
}


def wait_for_queue(repo) -> str:
    """`dvc queue status` once nothing is queued or running any more."""
    deadline = time.monotonic() + QUEUE_TIMEOUT_S
    while True:
        status = dvc(repo, "queue", "status")
        if not any(word in status for word in ("Queued", "Running")):
            return status
        if time.monotonic() > deadline:
            raise AssertionError(f"queue still busy after {QUEUE_TIMEOUT_S} s:\n{status}")
        time.sleep(POLL_S)


@pytest.mark.xdist_group(CLONES_GROUP)
def test_queued_sweep_shows_each_experiments_accuracy(smoke_repo, tmp_path):
    repo = clone(smoke_repo, tmp_path / "sweep", share_cache=True)
    hybrid = load_params(repo / "params.yaml").model["name"]
    for hidden in (32, 64):
        dvc(repo, "exp", "run", "--queue", "-n", f"hidden{hidden}", "-S", f"model.hidden={hidden}")
    dvc(repo, "queue", "start", "-j", "2")
    status = wait_for_queue(repo)
    assert status.count("Success") == 2, status
    for name in ("hidden32", "hidden64"):
        ran = set(re.findall(r"Running stage '([^']+)'", dvc(repo, "queue", "logs", name)))
        assert ran == PROPOSED_MODEL_AND_DOWNSTREAM, name

    accuracy = hybrid  # its column of metrics/accuracy.json: held-out accuracy, mean over folds
    table = dvc(repo, "exp", "show", "--no-pager", "--csv", "--drop", ".*", "--keep",
                f"^(Experiment|model.hidden|{accuracy})$")
    header, *rows = [line.split(",") for line in table.strip().splitlines()]
    assert header == ["Experiment", accuracy, "model.hidden"]
    by_name = {row[0]: row for row in rows}
    assert {"hidden32", "hidden64"} <= set(by_name)
    for name, hidden in (("hidden32", "32"), ("hidden64", "64")):
        assert 0.0 < float(by_name[name][1]) <= 1.0 and by_name[name][2] == hidden
