"""dvc.yaml's code deps are right by construction: every module a stage script imports, directly or
through other cnnlstm modules, lies inside one of that stage's deps (found with `ast`, not by running)."""

from __future__ import annotations

import ast
from pathlib import Path

import pytest
import yaml

REPO = Path(__file__).resolve().parents[1]
SRC = REPO / "src"


def module_file(name: str) -> Path | None:
    """The file of cnnlstm module `name` (a package's __init__.py), or None if it is not one."""
    base = SRC / Path(*name.split("."))
    for candidate in (base.with_suffix(".py"), base / "__init__.py"):
        if candidate.is_file():
            return candidate
    return None


def imported_modules(path: Path) -> set[str]:
    """cnnlstm modules named by `path`'s import statements, with every enclosing package."""
    names: set[str] = set()
    for node in ast.walk(ast.parse(path.read_text(), str(path))):
        if isinstance(node, ast.Import):
            names.update(alias.name for alias in node.names)
        elif isinstance(node, ast.ImportFrom) and node.module and node.level == 0:
            names.add(node.module)
            names.update(f"{node.module}.{alias.name}" for alias in node.names)  # `from pkg import module`
    found = set()
    for name in names:
        parts = name.split(".")
        if parts[0] != "cnnlstm":
            continue
        found.update(".".join(parts[:i]) for i in range(1, len(parts) + 1) if module_file(".".join(parts[:i])))
    return found


def import_closure(script: Path) -> set[Path]:
    """Every cnnlstm file `script` loads when run, itself included."""
    files, todo = {script}, [script]
    while todo:
        for name in imported_modules(todo.pop()):
            path = module_file(name)
            if path not in files:
                files.add(path)
                todo.append(path)
    return files


def stage_code_deps(dvc_yaml: dict) -> dict[str, tuple[Path, list[str]]]:
    """Stage name -> (its script, its deps), for every stage that runs `python stages/<x>.py`."""
    stages = {}
    for name, stage in dvc_yaml["stages"].items():
        script = stage["cmd"].split()[1]
        stages[name] = (REPO / script, stage["deps"])
    return stages


def uncovered(script: Path, deps: list[str]) -> list[str]:
    """Files of `script`'s import closure that no dep (a file or a folder) covers."""
    roots = [REPO / dep for dep in deps]
    return sorted(
        str(path.relative_to(REPO)) for path in import_closure(script)
        if not any(path == root or root in path.parents for root in roots)
    )


DVC_YAML = yaml.safe_load((REPO / "dvc.yaml").read_text())


@pytest.mark.parametrize("stage", sorted(stage_code_deps(DVC_YAML)))
def test_every_imported_module_is_a_dep(stage: str) -> None:
    script, deps = stage_code_deps(DVC_YAML)[stage]
    assert uncovered(script, deps) == [], f"{stage}: dvc.yaml deps miss these imported files"


def test_a_planted_omission_is_caught() -> None:
    """Dropping the models package from train's deps must leave its files uncovered."""
    script, deps = stage_code_deps(DVC_YAML)["train"]
    missing = uncovered(script, [dep for dep in deps if dep != "src/cnnlstm/models"])
    assert "src/cnnlstm/models/registry.py" in missing and "src/cnnlstm/models/checkpoint.py" in missing


def test_the_closure_follows_imports_through_modules() -> None:
    closure = {str(p.relative_to(REPO)) for p in import_closure(REPO / "stages/split.py")}
    assert {"src/cnnlstm/data/idx.py", "src/cnnlstm/core/errors.py", "src/cnnlstm/__init__.py"} <= closure
