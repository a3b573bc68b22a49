"""Every shell command in README.md and docs/*.md runs as written, in a fresh clone after `make repro` or
`make test` with the venv active (the README says `source .venv/bin/activate` once; no command uses
`.venv/bin/` itself). Each command is checked without running it, in a second or two for all of them:
dvc and cnnlstm command lines are parsed by their own argument parsers, `python -m` modules and
scripts must exist, make targets must be in the Makefile, other programs must be on PATH."""

from __future__ import annotations

import contextlib
import importlib.util
import io
import json
import re
import shlex
import shutil
from pathlib import Path

import pytest

from cnnlstm.cli import build_parser
from conftest import REPO

DOCS = [REPO / "README.md", *sorted((REPO / "docs").glob("*.md"))]
BLOCK = re.compile(r"```(bash|sh|shell|console)\n(.*?)```", re.S)
SHELL_WORDS = {"for", "do", "done", "if", "then", "fi", "cd", "source", "export", "echo", "set"}
ACTIVATE = "source .venv/bin/activate"


def _lines(text: str) -> list[str]:
    """The block's command lines: continuations joined, `$ ` prompts stripped."""
    joined = text.replace("\\\n", " ")
    return [line.strip().removeprefix("$ ") for line in joined.splitlines() if line.strip()]


def doc_commands() -> list[tuple[str, str]]:
    """(file, simple command) for every command of every shell block, `&&`/`;`/`|` split apart."""
    found = []
    for doc in DOCS:
        for block in BLOCK.finditer(doc.read_text()):
            for line in _lines(block.group(2)):
                words = shlex.split(line, comments=True)
                command: list[str] = []
                for word in [*words, ";"]:
                    if word in ("&&", ";", "|", "||") or word.endswith(";"):
                        if word.endswith(";") and word != ";":
                            command.append(word[:-1])
                        if command:
                            found.append((doc.relative_to(REPO).as_posix(), shlex.join(command)))
                        command = []
                    else:
                        command.append(word)
    return found


COMMANDS = doc_commands()


def _parses(parse, argv: list[str]) -> bool:
    with contextlib.redirect_stdout(io.StringIO()), contextlib.redirect_stderr(io.StringIO()):
        try:
            parse(argv)
        except SystemExit as exc:
            return exc.code == 0
        except Exception:  # noqa: BLE001 (dvc raises its own parser error)
            return False
    return True


def _dvc(argv: list[str]) -> bool:
    from dvc.cli import parse_args

    return _parses(parse_args, argv)


def _make_targets() -> set[str]:
    return set(re.findall(r"^([\w-]+):", (REPO / "Makefile").read_text(), re.M))


def check(argv: list[str]) -> str | None:
    """Why `argv` would not run as written; None if it would."""
    program, args = argv[0], argv[1:]
    if "=" in program and not program.startswith("-"):  # `ref=$(...)`: an assignment
        return None
    if program.startswith(".venv/"):
        return f"uses {program}: the README activates the venv once instead"
    if program in SHELL_WORDS:
        return None
    if program == "dvc":
        return None if _dvc(args) else "dvc cannot parse it"
    if program == "cnnlstm":
        return None if _parses(build_parser().parse_args, args) else "cnnlstm cannot parse it"
    if program == "python" and args[:1] == ["-m"]:
        return None if importlib.util.find_spec(args[1]) else f"no module {args[1]}"
    if program == "python":
        return None if (REPO / args[0]).is_file() else f"no script {args[0]}"
    if program == "make":
        missing = [t for t in args if "=" not in t and t not in _make_targets()]
        return f"no make target {missing}" if missing else None
    if "/" in program:
        return None if (REPO / program).is_file() else f"no script {program}"
    return None if shutil.which(program) else f"{program}: not on PATH"


def test_the_docs_have_commands_and_activate_the_venv_once() -> None:
    assert len(COMMANDS) > 30
    readme = [c for f, c in COMMANDS if f == "README.md"]
    assert readme.count(ACTIVATE) == 1 and readme.index(ACTIVATE) < readme.index("dvc metrics show")


@pytest.mark.parametrize(("doc", "command"), COMMANDS, ids=[f"{f}:{c[:40]}" for f, c in COMMANDS])
def test_command_runs_as_written(doc: str, command: str) -> None:
    argv = shlex.split(command)
    if shlex.join(argv) == ACTIVATE:
        assert (REPO / "Makefile").read_text().count(".venv") >= 1  # the venv both make targets create
        return
    assert check(argv) is None, f"{doc}: `{command}`: {check(argv)}"


@pytest.mark.parametrize(("argv", "why"), [
    (["dvc", "exp", "shwo"], "dvc cannot parse it"),
    (["dvc", "metrics", "show", "--bogus"], "dvc cannot parse it"),
    (["cnnlstm", "predcit", "x.png"], "cnnlstm cannot parse it"),
    (["make", "small-study"], "no make target ['small-study']"),
    (["python", "-m", "cnnlstm.nothing"], "no module cnnlstm.nothing"),
    ([".venv/bin/cnnlstm", "predict", "x.png"], "uses .venv/bin/cnnlstm: the README activates the venv once instead"),
])
def test_a_broken_command_is_caught(argv: list[str], why: str) -> None:
    assert check(argv) == why


def test_readme_exp_show_recipe_shows_every_models_accuracy_and_no_hash_within_200_columns() -> None:
    import subprocess
    import sys

    import yaml

    recipe = next(shlex.split(c) for f, c in COMMANDS if f == "README.md" and c.startswith("dvc exp show"))
    shown = subprocess.run([sys.executable, "-m", *recipe, "--no-pager"], cwd=REPO, capture_output=True, text=True,
                           check=True, env={**__import__("os").environ, "COLUMNS": "400"}).stdout.splitlines()
    params = yaml.safe_load((REPO / "params.yaml").read_text())
    incomplete = json.loads((REPO / "metrics" / "summary.json").read_text())["incomplete"]  # none once complete
    models = {*params["study"]["models"], params["model"]["name"]} - set(incomplete)
    header = next(line for line in shown if "Experiment" in line).split()
    assert models <= set(header)
    assert max(len(line.rstrip()) for line in shown) <= 200
    assert not any(re.search(r"\b[0-9a-f]{32}(\.dir)?\b", line) for line in shown)  # no dependency/output hash
