"""The JUnit XML report, for CI test tabs: one suite per area, one test case per finding a person reads, and one per
check for the mailboxes it passed.

Mapping (CI systems only know pass, failure, error and skipped):
- suites are named `xtcheck.APP`, `xtcheck.EXO`, ... in the console's area order, so a CI tab groups the
  findings as the console does; each suite carries the run's metadata as properties;
- a test case's classname is the check id and its name the finding's subject;
- `skip` -> <skipped> with the reason;
- failures are exactly the findings that set the exit code (checks/gate.py): `fail` -> <failure> (message: the
  finding's message; text: the remediation; type: the severity), and with `--fail-on warn` a `warn` too;
  `error` -> <error> (xtcheck could not decide: not the setup's fault, but not a pass);
- a `warn` that does not count -> a passing test case whose system-out starts with "warning:";
- a `fail` or `error` below `--min-severity` -> a passing test case whose system-out says it was not counted, so
  the test tab agrees with the build's exit code;
- `pass` -> a plain test case;
- the mailboxes a check passed -> one passing test case named "passing subjects", its system-out the count and
  then the subjects, one per line (a CI tab of 500,000 cases helps nobody; the JSON report names them too);
- a `fail` or `error` under an applied waiver -> <skipped> whose message says it is waived and its real status;
  an expired or lapsed waiver leaves the failure as it is, with a note in system-out.
Evidence goes into each case's system-out as compact JSON.

The document is written as it goes, a case at a time, never built in memory: its size follows what is written.
"""

from __future__ import annotations

from collections.abc import Iterable, Iterator
from dataclasses import dataclass
from typing import TextIO

from ..findings import Digest, Passed, area_rank, as_digest, compact
from ..gate import moves_exit
from ..model import Finding, GateDecision, Run, Status
from ..text import one_line, visible
from .common import gate_of, remediation_lines, run_identity, waiver_line

SUITE_PREFIX = "xtcheck."
PASSING = "passing subjects"  # the name of the case that lists what a check passed, stable from run to run
_XML = str.maketrans({"&": "&amp;", "<": "&lt;", ">": "&gt;", '"': "&quot;", "\ufffe": "\\ufffe",
                      "\uffff": "\\uffff"})
_BLOCK = 10_000  # passing subjects escaped and written at once
_ATTRIBUTE = str.maketrans({"\n": "&#10;", "\r": "&#13;", "\t": "&#9;"})


@dataclass
class _Suite:
    area: str
    cases: list[Finding | Passed]
    failures: int = 0
    errors: int = 0
    skipped: int = 0


def render_junit(findings: Digest | Iterable[Finding], run: Run, stream: TextIO) -> None:
    """Write the findings as JUnit XML (UTF-8 text, deterministic for the same input)."""
    report = as_digest(findings)
    gate = gate_of(report, run)
    suites = _suites(report, gate)
    tests = sum(len(suite.cases) for suite in suites)
    failures, errors = sum(s.failures for s in suites), sum(s.errors for s in suites)
    stream.write('<?xml version="1.0" ?>\n')
    stream.write(f'<testsuites disabled="0" errors="{errors}" failures="{failures}" tests="{tests}" time="0.0"')
    if not suites:
        stream.write("/>\n")
        return
    stream.write(">\n")
    properties = "".join(f'\t\t\t<property name={attribute(key)} value={attribute(value)}/>\n'
                         for key, value in {"tool_version": run.tool_version, **run_identity(run),
                                            "gate": gate.reason}.items())
    timestamp = f" timestamp={attribute(run.started)}" if run.started else ""
    for suite in suites:
        stream.write(f'\t<testsuite disabled="0" errors="{suite.errors}" failures="{suite.failures}" '
                     f'name={attribute(SUITE_PREFIX + suite.area)} skipped="{suite.skipped}" '
                     f'tests="{len(suite.cases)}" time="0"{timestamp}>\n')
        stream.write(f"\t\t<properties>\n{properties}\t\t</properties>\n")
        for case in suite.cases:
            stream.writelines(passing_lines(case) if isinstance(case, Passed) else case_lines(case, gate))
        stream.write("\t</testsuite>\n")
    stream.write("</testsuites>\n")


def _suites(report: Digest, gate: GateDecision) -> list[_Suite]:
    """The suites in area order, each with its cases (findings by check id and subject, then a check's passes) and
    its counts."""
    suites: dict[str, _Suite] = {}
    for finding in report.full:
        suite = suites.setdefault(finding.area, _Suite(finding.area, []))
        suite.cases.append(finding)
        kind = case_kind(finding, gate)
        suite.failures += kind == "failure"
        suite.errors += kind == "error"
        suite.skipped += kind == "skipped"
    for group in report.passed.values():
        suites.setdefault(group.area, _Suite(group.area, [])).cases.append(group)
    for suite in suites.values():  # a check's passes after its findings, which keep their order (the sort is stable)
        suite.cases.sort(key=lambda case: (case.check_id, isinstance(case, Passed)))
    return sorted(suites.values(), key=lambda suite: area_rank(suite.area))


def case_kind(finding: Finding, gate: GateDecision) -> str | None:
    """The element a finding becomes: failure or error (exactly when it set the exit code), skipped (a skip, or
    waived), or None for a passing case."""
    if finding.waived and finding.status in (Status.FAIL, Status.ERROR):
        return "skipped"
    if finding.status is Status.SKIP:
        return "skipped"
    if moves_exit(finding, gate):
        return "error" if finding.status is Status.ERROR else "failure"
    return None


def case_lines(finding: Finding, gate: GateDecision) -> Iterator[str]:
    """One test case; text from tenants has its hidden characters written visibly (XML cannot hold most of them,
    and a CI page should not reorder or recolour what it shows)."""
    head = f"\t\t<testcase name={attribute(finding.subject)} classname={attribute(finding.check_id)}"
    kind, message, stdout = case_kind(finding, gate), finding.message, _stdout(finding, gate)
    if kind is None and not stdout:
        yield head + "/>\n"
        return
    yield head + ">\n"
    # a failure or an error with neither message nor text would say nothing: the fallbacks keep it readable
    if kind == "skipped" and finding.waived:
        yield f"\t\t\t<skipped type=\"skipped\" message={attribute(waiver_line(finding) or '')}>{xml_text(message)}" \
              "</skipped>\n"
    elif kind == "skipped":
        yield f'\t\t\t<skipped type="skipped" message={attribute(message)}/>\n'
    elif kind is not None:
        kind_type = finding.severity.value if kind == "failure" else "error"
        fallback = "failed" if kind == "failure" else "could not decide"
        yield _element(kind, kind_type, message or fallback, _remediation_text(finding))
    if stdout:
        yield f"\t\t\t<system-out>{xml_text(stdout)}</system-out>\n"
    yield "\t\t</testcase>\n"


def _element(tag: str, kind: str, message: str, text: str) -> str:
    opening = f"\t\t\t<{tag} type={attribute(kind)} message={attribute(message)}"
    return f"{opening}>{xml_text(text)}</{tag}>\n" if text else f"{opening}/>\n"


def passing_lines(group: Passed) -> Iterator[str]:
    yield f"\t\t<testcase name={attribute(PASSING)} classname={attribute(group.check_id)}>\n"
    yield f"\t\t\t<system-out>{len(group):,} passed {xml_text(group.check_id)}: {xml_text(group.title)}"
    subjects = group.subjects
    for start in range(0, len(subjects), _BLOCK):  # escaped a block at a time: one call, not one per subject
        yield xml_text("".join(f"\n{one_line(subject)}" for subject in subjects[start:start + _BLOCK]))
    yield "</system-out>\n\t\t</testcase>\n"


def _stdout(finding: Finding, gate: GateDecision) -> str:
    lines: list[str] = []
    waiver = waiver_line(finding)
    if waiver is not None:
        lines.append(waiver)
    counted = moves_exit(finding, gate)
    if finding.status in (Status.FAIL, Status.ERROR) and not counted and not finding.waived:
        lines.append(f"not counted ({finding.status.value} below --min-severity {gate.min_severity.value}): "
                     f"{finding.message}")
        remediation = _remediation_text(finding)
        if remediation:
            lines.append(f"fix: {remediation}")
    if finding.status is Status.WARN and not counted:
        lines.append(f"warning: {finding.message}")
        remediation = _remediation_text(finding)
        if remediation:
            lines.append(f"fix: {remediation}")
    if finding.blocked_by:
        lines.append(f"blocked by {finding.blocked_by}")
    if finding.evidence:
        lines.append(f"evidence: {compact(finding.evidence)}")
    return "\n".join(lines)


def _remediation_text(finding: Finding) -> str:
    return "" if finding.remediation is None else "\n".join(remediation_lines(finding.remediation))


def xml_text(value: str) -> str:
    """Element text: hidden characters written visibly, then XML's own characters escaped."""
    return visible(value).translate(_XML)


def attribute(value: str) -> str:
    """A quoted attribute value; line breaks and tabs as character references, so they survive parsing."""
    return f'"{xml_text(value).translate(_ATTRIBUTE)}"'
