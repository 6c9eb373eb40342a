"""The gate: how findings add up to a verdict and an exit code (the severity floor and waivers included)."""

from __future__ import annotations

from collections import Counter
from collections.abc import Iterable
from operator import attrgetter

from .exits import EXIT_ERROR, EXIT_FAIL, EXIT_OK
from .model import Finding, GateDecision, Severity, Status


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


def decide(findings: Iterable[Finding], fail_on: str = "fail", min_severity: Severity | str = Severity.INFO,
           ) -> GateDecision:
    """The exit code of `findings` under the options, and one sentence saying why (what counted, what did not)."""
    floor = Severity(min_severity)
    problems = [f for f in findings if f.status is not Status.PASS]
    waived = sum(1 for f in problems if f.waived)
    counted = [f for f in problems if _moves(f, fail_on, floor)]
    below = sum(1 for f in problems if not f.waived and f.severity.rank > floor.rank)
    code = exit_code(counted, fail_on, floor)
    counts = summarize(counted)
    scope = "at any severity" if floor is Severity.INFO else f"at or above {floor.value}"
    fails, warns = counts[Status.FAIL], counts[Status.WARN]
    if code == EXIT_FAIL and fails and warns:
        reason = f"exit 1: {_n(fails, 'finding fails', 'findings fail')} and {warns} warn {scope} (--fail-on warn)"
    elif code == EXIT_FAIL and fails:
        reason = f"exit 1: {_n(fails, 'finding fails', 'findings fail')} {scope}"
    elif code == EXIT_FAIL:
        reason = f"exit 1: {_n(warns, 'finding warns', 'findings warn')} {scope} (--fail-on warn)"
    elif code == EXIT_ERROR:
        reason = (f"exit 3: xtcheck could not decide {_n(counts[Status.ERROR], 'finding', 'findings')} {scope}, "
                  "and none failed")
    else:
        reason = f"exit 0: nothing {'fails' if fail_on == 'fail' else 'fails or warns'} {scope}"
    notes = [f"{_n(below, 'finding', 'findings')} below --min-severity {floor.value} not counted" if below else "",
             f"{waived} waived" if waived else ""]
    reason += "".join(f"; {note}" for note in notes if note)
    return GateDecision(code, reason, fail_on, floor, len(counted), below, waived)


def moves_exit(finding: Finding, decision: GateDecision) -> bool:
    """Whether `finding` is one that set the exit code under `decision`: a fail (a warn with --fail-on warn) or an
    error at or above the floor, not waived."""
    return _moves(finding, decision.fail_on, decision.min_severity)


def _moves(finding: Finding, fail_on: str, floor: Severity) -> bool:
    if finding.waived or finding.severity.rank > floor.rank:
        return False
    return finding.status in (Status.FAIL, Status.ERROR) or (finding.status is Status.WARN and fail_on == "warn")


def _n(count: int, one: str, many: str) -> str:
    return f"{count} {one if count == 1 else many}"
