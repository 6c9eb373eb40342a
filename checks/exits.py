"""The exit codes of every xtcheck command: a contract that pipelines rely on (README, `xtcheck --help`)."""

from __future__ import annotations

EXIT_OK = 0  # nothing at or above the threshold
EXIT_FAIL = 1  # a check failed (or warned, with --fail-on warn)
EXIT_USAGE = 2  # usage or configuration error
EXIT_ERROR = 3  # a check could not decide (error) and none failed
EXIT_CRASH = 4  # xtcheck itself failed (an internal error): no verdict, whatever the tenants hold
EXIT_INTERRUPTED = 130  # Ctrl-C
