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
    """Run `main`; turn a CnnLstmError into `error: <message>` on stderr and exit status 1."""

    @functools.wraps(main)
    def wrapper(*args, **kwargs) -> T:
        try:
            return main(*args, **kwargs)
        except CnnLstmError as exc:
            print(f"error: {exc}", file=sys.stderr)
            sys.exit(1)

    return wrapper
