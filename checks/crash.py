"""The last resort of the command line: a stream closed before the start, and an unexpected exception turned into one
line on stderr and its own exit code (EXIT_CRASH), distinct from a failed check (1) and an undecided one (3)."""

from __future__ import annotations

import contextlib
import os
import sys
import traceback
from pathlib import Path

from .exits import EXIT_CRASH
from .text import one_line, visible


def open_closed_streams() -> None:
    """A stream closed before the start (`xtcheck audit ... >&-`) is None in Python, and the first write would be
    an AttributeError: it writes to the null device instead, and the run still ends with its files and exit code."""
    for name in ("stdout", "stderr"):
        if getattr(sys, name) is None:
            setattr(sys, name, open(os.devnull, "w", encoding="utf-8"))  # noqa: SIM115 (open until the process ends)


def crashed(exc: Exception, *, debug: bool) -> int:
    """One line saying what failed and where in xtcheck (and, with --debug, the trace before it), redacted of known
    secrets and token shapes, its control characters escaped: this may be a CI log. Always EXIT_CRASH."""
    from .redact import redact  # (not at import: `xtcheck --version` need not load logging)

    with contextlib.suppress(Exception):  # a stderr that cannot be written to: the exit code still says it
        if debug:
            sys.stderr.write(visible(redact("".join(traceback.format_exception(exc)))))
        hint = "the full trace is above" if debug else "run again with --debug for the full trace"
        what = one_line(visible(redact(_what_failed(exc))))
        print(f"xtcheck: internal error: {what}; {hint}", file=sys.stderr)
    return EXIT_CRASH


def _what_failed(exc: Exception, longest: int = 300) -> str:
    """`OSError: [Errno 28] No space left on device (in checks/files.py line 88, write_atomic)`."""
    try:
        message = str(exc)
    except Exception:  # an exception whose message cannot be made
        message = ""
    if len(message) > longest:
        message = f"{message[:longest]}…"
    where = next((f" (in {frame.filename[len(_ROOT) + 1:]} line {frame.lineno}, {frame.name})"
                  for frame in reversed(traceback.extract_tb(exc.__traceback__))
                  if frame.filename.startswith(_PACKAGE)), "")
    return f"{type(exc).__name__}{': ' + message if message else ''}{where}"


_PACKAGE = str(Path(__file__).resolve().parent) + os.sep
_ROOT = str(Path(__file__).resolve().parent.parent)
