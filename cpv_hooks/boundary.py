"""The one error boundary of the ``cpv`` command and the git hooks.

A known error (:class:`CPVError`) becomes one line with its hint and its exit code; Ctrl-C
becomes ``interrupted`` and 130 (every writer of cpv replaces files atomically, so nothing is
half-written); anything else becomes one line naming the log file that holds the traceback.
"""

from __future__ import annotations

import datetime as _dt
import sys
import traceback
from collections.abc import Callable
from pathlib import Path

from cpv_hooks.errors import CPVError, printable

INTERRUPTED = 130  # the shell's code for a process ended by SIGINT
UNEXPECTED = 70  # EX_SOFTWARE: a bug in cpv


def crash_log(exc: BaseException) -> Path | None:
    """Append ``exc``'s traceback (secrets redacted) to ``<config dir>/logs/crash.log``."""
    from cpv_hooks.config import config_dir
    from cpv_hooks.logs import redact

    path = config_dir() / "logs" / "crash.log"
    text = "".join(traceback.format_exception(type(exc), exc, exc.__traceback__))
    try:
        path.parent.mkdir(parents=True, exist_ok=True, mode=0o700)
        with open(path, "a", encoding="utf-8") as fh:
            fh.write(f"--- {_dt.datetime.now().isoformat()} {' '.join(sys.argv)}\n")
            fh.write(redact(text))
    except OSError:
        return None
    return path


def handle(exc: BaseException, prefix: str, verbose: bool) -> int:
    """Print the one line for ``exc`` on stderr and return the exit code."""
    if verbose:
        traceback.print_exception(type(exc), exc, exc.__traceback__)
    if isinstance(exc, CPVError):
        print(printable(f"{prefix}: {exc}"), file=sys.stderr)  # data may hold any character
        return exc.exit_code
    if isinstance(exc, KeyboardInterrupt):
        print(f"{prefix}: interrupted", file=sys.stderr)
        return INTERRUPTED
    log = crash_log(exc)
    where = f"the traceback is in {log}" if log else "the traceback could not be saved"
    detail = printable(" ".join(str(exc).split())) or "no detail"
    print(
        f"{prefix}: unexpected error ({type(exc).__name__}: {detail}); {where}, "
        "or run with -v to see it; please report it",
        file=sys.stderr,
    )
    return UNEXPECTED


def guarded(fn: Callable[[], int], prefix: str, verbose: bool) -> int:
    """Run ``fn`` inside the boundary."""
    try:
        return fn()
    except (Exception, KeyboardInterrupt) as exc:  # the one place every error is shown
        return handle(exc, prefix, verbose)
