"""One exception type for every problem a user can fix, and the CLI wrapper that reports it."""

from __future__ import annotations

import functools
import signal
import sys
import threading
from collections.abc import Callable
from typing import TypeVar

T = TypeVar("T")
SIGNALS = (signal.SIGINT, signal.SIGTERM)


class CnnLstmError(Exception):
    """A problem with the user's input: reported as one line, never as a traceback."""


class Interrupted(BaseException):
    """SIGINT or SIGTERM arrived. A BaseException, like KeyboardInterrupt: no `except Exception` swallows
    it, so every `finally` (atomic writes removing their temporary files) runs on the way out."""

    def __init__(self, signum: int) -> None:
        super().__init__(signal.Signals(signum).name)
        self.signum = signum


def _raise_interrupted(signum: int, _frame: object) -> None:
    raise Interrupted(signum)


def exit_on_error(main: Callable[..., T]) -> Callable[..., T]:
    """Run `main`; turn a CnnLstmError, or an OSError from the environment (full disk, read-only
    checkout, missing permission), into `error: <message>` on stderr and exit status 1, and SIGINT or
    SIGTERM into one line and exit status 130 or 143 (128 + the signal, as a shell reports it)."""

    @functools.wraps(main)
    def wrapper(*args, **kwargs) -> T:
        handled = threading.current_thread() is threading.main_thread()  # Python's rule for signal handlers
        previous = {signum: signal.signal(signum, _raise_interrupted) for signum in SIGNALS} if handled else {}
        try:
            return main(*args, **kwargs)
        except Interrupted as exc:
            for signum in previous:  # a second Ctrl-C must not interrupt the report
                signal.signal(signum, signal.SIG_IGN)
            print(f"error: interrupted by {exc}; nothing half-written is left, rerun to continue", file=sys.stderr)
            sys.exit(128 + exc.signum)
        except CnnLstmError as exc:
            print(f"error: {exc}", file=sys.stderr)
            sys.exit(1)
        except OSError as exc:
            where = " -> ".join(str(name) for name in (exc.filename, exc.filename2) if name is not None)
            print(f"error: {where + ': ' if where else ''}{exc.strerror or exc}", file=sys.stderr)
            sys.exit(1)
        finally:
            for signum, handler in previous.items():  # a caller in the same process (tests) gets its own back
                signal.signal(signum, handler)

    return wrapper
