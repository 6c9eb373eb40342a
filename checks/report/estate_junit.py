"""The JUnit XML report of an estate: one `<testsuite>` per target, named by the target, its cases as the
single-target report writes them (checks/report/junit.py), so its failures are exactly the findings that set that
target's exit code; then one suite of the environments that could not be audited, each an errored case whose
message is the reason and whose text is the fix. Suites by target name, written a case at a time."""

from __future__ import annotations

from collections.abc import Iterable
from typing import TextIO

from ..model import EstateResult, Unreadable
from .common import run_identity
from .estate import EstateReport, TargetReport, as_estate_report, estate_gate
from .junit import attribute, case_kind, case_lines, passing_lines, xml_text

UNREADABLE_SUITE = "environments not audited"


def render_estate_junit(estate: EstateResult | EstateReport, stream: TextIO) -> None:
    """Write the estate as JUnit XML (UTF-8 text, deterministic for the same input)."""
    report = as_estate_report(estate)
    targets = sorted(report.targets, key=lambda item: (item.target.name.lower(), item.target.name))
    tallies = [_tally(item) for item in targets]
    unreadable = len(report.unreadable)
    tests = sum(t[0] for t in tallies) + unreadable
    failures, errors = sum(t[1] for t in tallies), sum(t[2] for t in tallies) + unreadable
    stream.write('<?xml version="1.0" ?>\n')
    stream.write(f'<testsuites disabled="0" errors="{errors}" failures="{failures}" tests="{tests}" time="0.0" '
                 f'name={attribute(estate_gate(report).reason)}')
    if not targets and not unreadable:
        stream.write("/>\n")
        return
    stream.write(">\n")
    for item, tally in zip(targets, tallies, strict=True):
        _write_suite(stream, item, tally)
    if unreadable:
        _write_unreadable(stream, report.unreadable)
    stream.write("</testsuites>\n")


def _tally(item: TargetReport) -> tuple[int, int, int, int]:
    """(tests, failures, errors, skipped) of a target's suite, counted before it is written."""
    kinds = [case_kind(finding, item.gate) for finding in item.report.full]
    return (len(kinds) + len(item.report.passed), kinds.count("failure"), kinds.count("error"),
            kinds.count("skipped"))


def _write_suite(stream: TextIO, item: TargetReport, tally: tuple[int, int, int, int]) -> None:
    tests, failures, errors, skipped = tally
    run, gate = item.run, item.gate
    timestamp = f" timestamp={attribute(run.started)}" if run.started else ""
    stream.write(f'\t<testsuite disabled="0" errors="{errors}" failures="{failures}" '
                 f'name={attribute(item.target.name)} skipped="{skipped}" tests="{tests}" time="0"{timestamp}>\n')
    properties = {"tool_version": run.tool_version, **run_identity(run), "target": item.target.name,
                  "gate": gate.reason}
    stream.write("\t\t<properties>\n")
    stream.writelines(f"\t\t\t<property name={attribute(key)} value={attribute(value)}/>\n"
                      for key, value in properties.items())
    stream.write("\t\t</properties>\n")
    for finding in item.report.full:  # by area, then check id and subject, as the single report's suites
        stream.writelines(case_lines(finding, gate))
    for group in item.report.passed.values():
        stream.writelines(passing_lines(group))
    stream.write("\t</testsuite>\n")


def _write_unreadable(stream: TextIO, unreadable: Iterable[Unreadable]) -> None:
    items = list(unreadable)
    stream.write(f'\t<testsuite disabled="0" errors="{len(items)}" failures="0" name={attribute(UNREADABLE_SUITE)} '
                 f'skipped="0" tests="{len(items)}" time="0">\n')
    for item in items:
        name = item.environment or item.environment_url or "(unnamed environment)"
        stream.write(f"\t\t<testcase name={attribute(name)} classname={attribute(item.environment_url or name)}>\n")
        stream.write(f'\t\t\t<error type="unreadable" message={attribute(item.reason)}>'
                     f"{xml_text(f'fix: {item.fix}')}</error>\n")
        stream.write("\t\t</testcase>\n")
    stream.write("\t</testsuite>\n")
