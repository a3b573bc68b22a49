"""Profiles (params overlays) and the throwaway repository copy the gate runs in."""

from __future__ import annotations

import subprocess
from pathlib import Path

import pytest

from cnnlstm.core.errors import CnnLstmError
from cnnlstm.gate.profile import deep_merge, load_mapping, profiled_params, protocol_sha256, write_params
from cnnlstm.gate.workspace import copy_repo, stage_env
from cnnlstm.core.params import load_params

REPO = Path(__file__).resolve().parents[1]
SMOKE = REPO / "profiles/smoke.yaml"


def test_deep_merge_merges_mappings_and_replaces_the_rest():
    base = {"cv": {"folds": 10, "fold_ids": [0, 1, 2], "seed": 7}, "study": {"models": ["a", "b"]}}
    merged = deep_merge(base, {"cv": {"folds": 2, "fold_ids": [0, 1]}, "study": {"models": ["a"]}})
    assert merged == {"cv": {"folds": 2, "fold_ids": [0, 1], "seed": 7}, "study": {"models": ["a"]}}
    assert base["cv"]["folds"] == 10  # the input is not modified


def test_smoke_profile_is_small_and_keeps_every_model():
    params = profiled_params(REPO / "params.yaml", SMOKE)
    full = load_params(REPO / "params.yaml")
    assert params["cv"]["folds"] == 2 and params["cv"]["subset"] <= 0.05
    assert params["train"]["epochs"] <= 2 and params["eval"]["test_subset"] <= 0.1
    assert params["study"]["models"] == list(full.study) and params["model"] == full.model


def test_profile_with_an_unknown_key_names_it(tmp_path):
    profile = tmp_path / "bad.yaml"
    profile.write_text("train: {epoch: 1}\n")
    with pytest.raises(CnnLstmError, match=r"params.yaml \+ .*bad.yaml: train: unknown key 'epoch'"):
        profiled_params(REPO / "params.yaml", profile)


def test_profile_must_be_a_mapping(tmp_path):
    profile = tmp_path / "list.yaml"
    profile.write_text("- cv\n")
    with pytest.raises(CnnLstmError, match="list.yaml: must hold a mapping"):
        load_mapping(profile)


def test_written_params_load_back(tmp_path):
    params = profiled_params(REPO / "params.yaml", SMOKE)
    write_params(tmp_path, params)
    assert load_params(tmp_path / "params.yaml").cv.folds == 2


def test_protocol_covers_profile_cv_and_eval_but_not_what_the_gate_judges():
    profile = load_mapping(SMOKE)
    params = profiled_params(REPO / "params.yaml", SMOKE)
    reference = protocol_sha256(profile, params)
    tuned = deep_merge(params, {"train": {"lr": 0.01}, "model": {"bidirectional": True}, "eval": {"batch_size": 7}})
    assert protocol_sha256(profile, tuned) == reference
    assert protocol_sha256(profile, deep_merge(params, {"cv": {"seed": 1}})) != reference
    assert protocol_sha256(profile, deep_merge(params, {"eval": {"test_subset": 0.2}})) != reference
    assert protocol_sha256(deep_merge(profile, {"train": {"epochs": 3}}), params) != reference


def test_copy_holds_tracked_and_untracked_files_but_not_ignored_ones(tmp_path):
    source = tmp_path / "source"
    (source / "src").mkdir(parents=True)
    subprocess.run(["git", "init", "-q", str(source)], check=True)
    (source / ".gitignore").write_text("/ignored/\n")
    (source / "src" / "tracked.py").write_text("x = 1\n")
    subprocess.run(["git", "-C", str(source), "add", "-A"], check=True)
    (source / "untracked.txt").write_text("new\n")
    (source / "ignored").mkdir()
    (source / "ignored" / "big.bin").write_text("cache\n")

    copy = copy_repo(source, tmp_path / "copy")
    files = sorted(str(p.relative_to(copy)) for p in copy.rglob("*") if p.is_file() and ".git" not in p.parts)
    assert files == [".gitignore", "src/tracked.py", "untracked.txt"]
    status = subprocess.run(["git", "-C", str(copy), "status", "--porcelain"], capture_output=True, text=True)
    assert status.stdout == ""  # committed: dvclive needs a commit


def test_stage_env_runs_the_copys_code(tmp_path):
    env = stage_env(tmp_path)
    assert env["PYTHONPATH"].split(":")[0] == str(tmp_path.resolve() / "src")
    assert env["DVC_NO_ANALYTICS"] == "1"
