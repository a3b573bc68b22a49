"""DVC reads dvc.yaml and dvc.lock with ruamel.yaml's safe loader in every command. Since ruamel.yaml
0.19 its C parser is a separate package (ruamel.yaml.clib in requirements.txt); without it each DVC
command parses the study's 0.24 MB dvc.lock in pure Python (dvc status 3.7 s became 6.2 s on Zen 3)."""

from __future__ import annotations

from dvc.utils.serialize import parse_yaml
from ruamel.yaml import YAML

from conftest import REPO


def test_dvc_parses_yaml_with_libyamls_c_parser() -> None:
    parser = YAML(typ="safe").Parser  # the loader DVC's parse_yaml builds
    assert parser.__module__.startswith("ruamel.yaml.clib"), f"{parser}: pip install -r requirements.txt"
    for name in ("dvc.yaml", "dvc.lock"):  # read as the pure-Python parser reads them
        text = (REPO / name).read_text()
        assert parse_yaml(text, name) == YAML(typ="safe", pure=True).load(text), name
