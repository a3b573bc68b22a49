"""Shard K of N: every train stage in exactly one shard, the shards about equal, models mixed."""

from __future__ import annotations

import pytest

from cnnlstm.shard import main, shard
from cnnlstm.study_progress import needed_by

STAGES = [f"train@m{m}-{f}" for m in range(3) for f in range(10)] + [f"train_hybrid@{f}" for f in range(10)]


@pytest.mark.parametrize("n", [1, 2, 3, 7, 40, 41])
def test_the_shards_partition_the_train_stages(n: int) -> None:
    shards = [shard(STAGES, k, n) for k in range(1, n + 1)]
    assert sorted(s for part in shards for s in part) == sorted(STAGES)
    assert max(map(len, shards)) - min(map(len, shards)) <= 1


def test_a_shard_mixes_models() -> None:
    assert {stage.split("-")[0] for stage in shard(STAGES, 1, 4)} >= {"train@m0", "train@m1", "train@m2"}


@pytest.mark.parametrize("argv", [["0", "2"], ["3", "2"], ["1", "0"]])
def test_a_shard_outside_1_to_n_is_refused(argv: list[str], capsys: pytest.CaptureFixture[str]) -> None:
    with pytest.raises(SystemExit) as exc:
        main(argv)
    assert exc.value.code == 2 and "K must be 1..N" in capsys.readouterr().err


def test_needed_by_follows_the_dag_upwards() -> None:
    dag = '"split" -> "train@a-0";\n"split" -> "train@a-1";\n"train@a-0" -> "evaluate@a";\n"download" -> "split";\n'
    assert needed_by(dag, ["train@a-0"]) == {"download", "split", "train@a-0"}
