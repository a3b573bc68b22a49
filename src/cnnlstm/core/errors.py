"""One exception type for every problem a user can fix, and the CLI wrapper that reports it."""

from __future__ import annotations

import functools
import sys
from collections.abc import Callable
from typing import TypeVar

T = TypeVar("T")


class CnnLstmError(Exception):
    """A problem with the user's input: reported as one line, never as a traceback."""


def exit_on_error(main: Callable[..., T]) -> Callable[..., T]:
    """Run `main`; turn a CnnLstmError, or an OSError from the environment (full disk, read-only
    checkout, missing permission), into `error: <message>` on stderr and exit status 1."""

    @functools.wraps(main)
    def wrapper(*args, **kwargs) -> T:
        try:
            return main(*args, **kwargs)
        except CnnLstmError as exc:
            print(f"error: {exc}", file=sys.stderr)
            sys.exit(1)
        except OSError as exc:
            where = " -> ".join(str(name) for name in (exc.filename, exc.filename2) if name is not None)
            print(f"error: {where + ': ' if where else ''}{exc.strerror or exc}", file=sys.stderr)
            sys.exit(1)

    return wrapper
