"""The JUnit XML report, for CI test tabs: one suite per area, one test case per finding.

Mapping (CI systems only know pass, failure, error and skipped):
- suites are named `xtcheck.APP`, `xtcheck.EXO`, ... in the console's area order, so a CI tab groups the
  findings as the console does; each suite carries the run's metadata as properties;
- a test case's classname is the check id and its name the finding's subject;
- `fail` -> <failure> (message: the finding's message; text: the remediation; type: the severity);
- `error` -> <error> (xtcheck could not decide: not the setup's fault, but not a pass);
- `skip` -> <skipped> with the reason;
- `warn` -> a passing test case whose system-out starts with "warning:": a warn does not fail a CI
  gate unless asked (`--fail-on warn` acts on the exit code, not on this file);
- `pass` -> a plain test case;
- a `fail` or `error` under an applied waiver -> <skipped> whose message says it is waived and its real status;
  an expired or lapsed waiver leaves the failure as it is, with a note in system-out.
Evidence goes into each case's system-out as compact JSON.
"""

from __future__ import annotations

from collections.abc import Sequence
from itertools import groupby
from typing import Any, TextIO

from junit_xml import TestCase, TestSuite, to_xml_report_string

from ..findings import by_area, compact
from ..model import Finding, Run, Status
from ..text import visible
from .common import remediation_lines, run_identity, waiver_line

SUITE_PREFIX = "xtcheck."


def render_junit(findings: Sequence[Finding], run: Run, stream: TextIO) -> None:
    """Write the findings as JUnit XML (UTF-8 text, deterministic for the same input)."""
    groups = groupby(by_area(findings), key=lambda f: f.area)
    suites = [_suite(area, list(group), run) for area, group in groups]
    stream.write(to_xml_report_string(suites, prettyprint=True))


def _suite(area: str, findings: list[Finding], run: Run) -> Any:
    return TestSuite(
        f"{SUITE_PREFIX}{area}",
        [_case(finding) for finding in findings],
        timestamp=run.started or None,
        properties=_properties(run),
    )


def _properties(run: Run) -> dict[str, str]:
    return {key: visible(value) for key, value in {"tool_version": run.tool_version, **run_identity(run)}.items()}


def _case(finding: Finding) -> Any:
    """One test case; text from tenants has its hidden characters written visibly (XML cannot hold most of them,
    and a CI page should not reorder or recolour what it shows)."""
    message = visible(finding.message)
    case = TestCase(visible(finding.subject), classname=visible(finding.check_id), stdout=_stdout(finding) or None)
    # junit-xml drops a failure or an error that has neither message nor text: the fallbacks keep it counted.
    if finding.waived and finding.status in (Status.FAIL, Status.ERROR):
        case.add_skipped_info(message=waiver_line(finding), output=message)
    elif finding.status is Status.FAIL:
        case.add_failure_info(message=message or "failed", output=_remediation_text(finding) or None,
                              failure_type=finding.severity.value)
    elif finding.status is Status.ERROR:
        case.add_error_info(message=message or "could not decide", output=_remediation_text(finding) or None)
    elif finding.status is Status.SKIP:
        case.add_skipped_info(message=message)
    return case


def _stdout(finding: Finding) -> str:
    lines: list[str] = []
    waiver = waiver_line(finding)
    if waiver is not None:
        lines.append(waiver)
    if finding.status is Status.WARN:
        lines.append(f"warning: {finding.message}")
        remediation = _remediation_text(finding)
        if remediation:
            lines.append(f"fix: {remediation}")
    if finding.blocked_by:
        lines.append(f"blocked by {finding.blocked_by}")
    if finding.evidence:
        lines.append(f"evidence: {compact(finding.evidence)}")
    return visible("\n".join(lines))


def _remediation_text(finding: Finding) -> str:
    return "" if finding.remediation is None else "\n".join(remediation_lines(finding.remediation))
