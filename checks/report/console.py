"""The console report: findings grouped by area, remediation under what is not a pass, attestation and summary."""

from __future__ import annotations

import re
import textwrap
from collections.abc import Iterable
from itertools import groupby
from typing import TextIO

from ..findings import Digest, as_digest, compact, fingerprint, ordered
from ..gate import verdict
from ..model import AREAS, Finding, Run, Status
from ..redact import redact
from ..text import visible_line
from .common import (
    COLLAPSE_ABOVE,
    Painter,
    attestation_lines,
    encodable,
    gate_of,
    remediation_lines,
    unicode_ok,
    unused_waiver_lines,
    waiver_line,
)

TAGS: dict[Status, str] = {
    Status.PASS: "PASS", Status.FAIL: "FAIL", Status.WARN: "WARN", Status.ERROR: "ERR ", Status.SKIP: "SKIP",
}
_WAIVED = ("36", "WAIVED")  # colour and tag of a finding under an applied waiver (its real status is shown below)
_INDENT = " " * 7  # under the finding's text, past "  TAG "


def render_console(findings: Digest | Iterable[Finding], run: Run, stream: TextIO, *, color: bool, quiet: bool,
                   verbose: bool = False, width: int | None = None) -> None:
    """Write the human report to `stream`: ANSI colour only when `color`; prose wrapped at `width` (a terminal's),
    commands and links never (they must stay pasteable); nothing is ever truncated."""
    findings = as_digest(findings)
    paint = Painter(color, unicode_ok(stream))
    lines: list[str] = []
    if quiet:
        lines.extend(problem_lines(findings, paint, verbose=verbose))
        lines.extend(unused_waiver_lines(run.unused_waivers))
        lines.extend([""] if lines else [])
    else:
        lines.extend(header_lines(run, paint))
        lines.extend(body_lines(findings, paint, verbose=verbose))
        lines.extend(["", *unused_waiver_lines(run.unused_waivers)] if run.unused_waivers else [])
        lines.extend(completeness_lines(run))
        lines.extend(["", *attestation_lines(run.attestation, paint, verbose=verbose)])
        lines.append("")
    lines.append(summary_line(findings, paint))
    lines.append(gate_of(findings, run).reason)  # the last line: why the command exits as it does
    if width is not None:
        lines = [folded for line in lines for folded in fold(line, width)]
    stream.write(encodable("\n".join(lines) + "\n", stream))


_ANSI = re.compile(r"\x1b\[[0-9;]*m")
_TAG = re.compile(r"(?:\x1b\[[0-9;]*m)?(?:PASS|FAIL|WARN|ERR |SKIP|WAIVED)(?:\x1b\[0m)? ")
_WHOLE = ("$ ", "see ", "https://", "http://")  # what is pasted: wrapped, it would no longer work


def fold(line: str, width: int) -> list[str]:
    """`line` as lines of at most `width` visible characters: a finding's text hangs under its text, other prose
    two columns in; a command or a link stays whole, however long."""
    visible = _ANSI.sub("", line)
    if len(visible) <= width:
        return [line]
    spaces = line[:len(line) - len(line.lstrip(" "))]
    tagged = _TAG.match(line, len(spaces))
    tag = tagged.group() if tagged else ""
    lead = spaces + tag
    body = line[len(lead):]
    if body.startswith(_WHOLE):
        return [line]
    hang = " " * (len(_ANSI.sub("", lead)) if tag else len(spaces) + 2)
    parts = textwrap.wrap(body, width=width, initial_indent=" " * len(_ANSI.sub("", lead)), subsequent_indent=hang,
                          break_long_words=False, break_on_hyphens=False)
    if not parts:
        return [line]
    return [lead + parts[0].lstrip(" "), *parts[1:]]


def summary_line(findings: Digest | Iterable[Finding], paint: Painter | None = None) -> str:
    """ "FAIL — 15 pass, 2 fail, 1 warn, 0 error, 3 skip" (", 1 waived" when waivers took findings out of the gate;
    the counts are real statuses)."""
    report = as_digest(findings)
    paint = paint or Painter(color=False, unicode=True)
    counts = report.counts
    outcome = verdict(report.full)
    tally = ", ".join(f"{counts[status]} {status.value}" for status in Status)
    waived = report.waived
    tally += f", {waived} waived" if waived else ""
    return f"{paint.status(outcome, outcome.value.upper())} {paint.dash} {tally}"


def header_lines(run: Run, paint: Painter) -> list[str]:
    return [
        paint.bold(visible_line(f"xtcheck {run.tool_version}")),
        visible_line(f"  environment  {run.environment_url} (cloud: {run.cloud})"),
        visible_line(f"  tenants      {run.dynamics_tenant} (Dynamics, tenant A) {paint.arrow} "
                f"{run.exchange_tenant} (Exchange Online, tenant B)"),
        visible_line(f"  app          {run.client_id or '(taken from the profile)'}"),
        visible_line(f"  profile      {run.profile or '(auto-detected)'}"),
        visible_line(f"  run          {run.started} {paint.arrow} {run.finished}"),
    ]


def problem_lines(report: Digest, paint: Painter, *, verbose: bool) -> list[str]:
    """The lines of every finding that is not a pass (what -q shows, and an estate's target detail)."""
    return [line for finding in report.full if finding.status is not Status.PASS
            for line in _finding_lines(finding, paint, verbose=verbose)]


def body_lines(report: Digest, paint: Painter, *, verbose: bool) -> list[str]:
    if not report.total:
        return ["", "No checks ran."]
    by_check: dict[str, list[Finding]] = {}
    for finding in report.full:
        by_check.setdefault(finding.check_id, []).append(finding)
    lines: list[str] = []
    for area, ids in groupby(report.check_ids(), key=lambda check_id: check_id.split("-")[0]):
        lines.extend(["", paint.bold(visible_line(AREAS.get(area, area)))])
        for check_id in ids:
            passing = report.passed.get(check_id)
            lines.extend(_check_lines(by_check.get(check_id, []), passing.each() if passing else [], paint,
                                      verbose=verbose))
    return lines


def _check_lines(findings: list[Finding], brief: list[Finding], paint: Painter, *, verbose: bool) -> list[str]:
    """A check's lines: its passes as one line when there are many (unless --verbose), then what is not a pass;
    or every finding in order."""
    passes = [f for f in findings if f.status is Status.PASS]
    collapse = not verbose and len(passes) + len(brief) > COLLAPSE_ABOVE
    if not collapse:
        return [line for finding in (ordered([*findings, *brief]) if brief else findings)
                for line in _finding_lines(finding, paint, verbose=verbose)]
    first = (passes or brief)[0]
    lines = [f"  {paint.status(Status.PASS, TAGS[Status.PASS])} {visible_line(first.check_id)}  "
             f"{len(passes) + len(brief):,} passing {paint.dash} {visible_line(first.title)} (--verbose lists each)"]
    for finding in findings:
        if finding.status is not Status.PASS:
            lines.extend(_finding_lines(finding, paint, verbose=verbose))
    return lines


def _finding_lines(finding: Finding, paint: Painter, *, verbose: bool) -> list[str]:
    tag = paint.paint(*_WAIVED) if finding.waived else paint.status(finding.status, TAGS[finding.status])
    said = redact(f"{finding.check_id}  {finding.subject} {paint.dash} {finding.message}")  # a brief pass's words are
    lines = [f"  {tag} {visible_line(said)}"]  # written here, from its row: they never passed through the engine's
    if finding.status is Status.PASS:
        return lines
    waiver = waiver_line(finding, paint.dash)
    if waiver is not None:
        lines.append(f"{_INDENT}{waiver}")
    if finding.blocked_by:
        lines.append(f"{_INDENT}blocked by {visible_line(finding.blocked_by)}")
    if finding.remediation is not None:
        first, *rest = remediation_lines(finding.remediation)
        lines.append(f"{_INDENT}fix: {first}")
        lines.extend(f"{_INDENT}{line}" for line in rest)
    if verbose and finding.evidence:
        lines.append(f"{_INDENT}evidence: {visible_line(compact(finding.evidence))}")
    if verbose:
        lines.append(f"{_INDENT}fingerprint: {fingerprint(finding)}")
    return lines


def completeness_lines(run: Run) -> list[str]:
    if not run.completeness:
        return []
    return ["", "Completeness", *(f"  {visible_line(statement)}" for statement in run.completeness)]
