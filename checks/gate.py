"""The gate: how findings add up to a verdict and an exit code (the severity floor and waivers included)."""

from __future__ import annotations

from collections import Counter
from collections.abc import Iterable
from operator import attrgetter

from .exits import EXIT_ERROR, EXIT_FAIL, EXIT_OK
from .model import Finding, Severity, Status


def summarize(findings: Iterable[Finding]) -> dict[Status, int]:
    counts = dict.fromkeys(Status, 0)
    counts.update(Counter(map(_status, findings)))
    return counts


_status = attrgetter("status")


def verdict(findings: Iterable[Finding]) -> Status:
    """The run's overall status: fail beats error beats warn beats pass; a waived finding does not count."""
    counts = summarize([f for f in findings if f.status is not Status.PASS and not f.waived])
    for status in (Status.FAIL, Status.ERROR, Status.WARN):
        if counts[status]:
            return status
    return Status.PASS


def gating(findings: Iterable[Finding], min_severity: Severity | str = Severity.INFO) -> list[Finding]:
    """The findings the exit code looks at: at or above the severity floor, not waived, and not a pass (a pass
    never moves it)."""
    floor = Severity(min_severity).rank
    return [f for f in findings if f.status is not Status.PASS and not f.waived and f.severity.rank <= floor]


def exit_code(findings: Iterable[Finding], fail_on: str = "fail", min_severity: Severity | str = Severity.INFO) -> int:
    """0 nothing at or above the threshold; 1 a fail (or a warn with fail_on=warn); 3 errors and no fail.

    Only `gating` findings count: those below `min_severity` and those under an applied waiver are still
    reported, but never change the exit code."""
    counts = summarize(gating(findings, min_severity))
    if counts[Status.FAIL] or (fail_on == "warn" and counts[Status.WARN]):
        return EXIT_FAIL
    return EXIT_ERROR if counts[Status.ERROR] else EXIT_OK
