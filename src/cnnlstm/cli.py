"""The `cnnlstm` command. Each subcommand is a module with HELP, DESCRIPTION, add_arguments(parser)
and run(args) -> exit status; adding one is one line in COMMANDS."""

from __future__ import annotations

import argparse
from collections.abc import Sequence

from cnnlstm.core.errors import exit_on_error
from cnnlstm.prediction import command as predict

COMMANDS = {"predict": predict}


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(prog="cnnlstm", description="Tools for the cnnlstm Fashion-MNIST study.")
    subparsers = parser.add_subparsers(dest="command", required=True, metavar="COMMAND")
    for name, module in COMMANDS.items():
        sub = subparsers.add_parser(
            name, help=module.HELP, description=module.DESCRIPTION, formatter_class=argparse.RawDescriptionHelpFormatter
        )
        module.add_arguments(sub)
    return parser


@exit_on_error
def main(argv: Sequence[str] | None = None) -> int:
    """Exit status: 0 all well; 1 a user error or a file that could not be handled; 2 bad usage."""
    args = build_parser().parse_args(argv)
    return COMMANDS[args.command].run(args)
