"""The JUnit report: one suite per area, one case per finding and one per check's passing mailboxes, statuses mapped
as documented in the module."""

from __future__ import annotations

import io
import json
import random
import xml.etree.ElementTree as ET

from report_samples import CLIENT, brief_passes, finding, make_run, sample_findings

from checks.model import Finding, Remediation, Status
from checks.report import REPORTERS
from checks.report.junit import render_junit


def render(findings: list[Finding]) -> str:
    stream = io.StringIO()
    render_junit(findings, make_run(), stream)
    return stream.getvalue()


def parse(findings: list[Finding]) -> ET.Element:
    return ET.fromstring(render(findings))


def suites(root: ET.Element) -> dict[str, ET.Element]:
    return {suite.attrib["name"]: suite for suite in root.iter("testsuite")}


def counts(suite: ET.Element) -> tuple[str, str, str, str]:
    return suite.attrib["tests"], suite.attrib["failures"], suite.attrib["errors"], suite.attrib["skipped"]


def test_junit_is_the_junit_reporter() -> None:
    assert REPORTERS["junit"] is render_junit


def test_one_suite_per_area_in_report_order_with_the_right_counts() -> None:
    root = parse(sample_findings())
    by_name = suites(root)
    assert list(by_name) == ["xtcheck.APP", "xtcheck.EXO", "xtcheck.PRF", "xtcheck.MBX", "xtcheck.ZZZ"]
    assert counts(by_name["xtcheck.APP"]) == ("2", "0", "0", "0")  # the warn is not a failure
    assert counts(by_name["xtcheck.EXO"]) == ("2", "1", "1", "0")
    assert counts(by_name["xtcheck.PRF"]) == ("2", "1", "0", "1")
    assert counts(by_name["xtcheck.MBX"]) == ("4", "1", "0", "0")  # two findings, two checks' passing mailboxes
    assert root.attrib["tests"] == "11"
    assert root.attrib["failures"] == "3"
    assert root.attrib["errors"] == "1"


def test_cases_are_named_by_check_id_and_subject_in_order() -> None:
    mbx = suites(parse(sample_findings()))["xtcheck.MBX"]
    cases = [(case.attrib["classname"], case.attrib["name"]) for case in mbx.iter("testcase")]
    assert cases == [("MBX-001", "bob@contoso.com"), ("MBX-001", "carol@contoso.com"),
                     ("MBX-001", "passing subjects"), ("MBX-002", "passing subjects")]


def test_the_mailboxes_a_check_passed_are_one_passing_case_that_names_them() -> None:
    addresses = [f"user{n:04}@contoso.com" for n in range(1500)]
    root = parse([*brief_passes("MBX-003", *reversed(addresses)), finding("MBX-003", Status.FAIL, "zed@contoso.com")])
    cases = list(root.iter("testcase"))
    assert [(c.attrib["classname"], c.attrib["name"]) for c in cases] == [
        ("MBX-003", "zed@contoso.com"), ("MBX-003", "passing subjects")]
    assert list(cases[1]) == [cases[1].find("system-out")]  # a pass: no failure, error or skipped
    assert (cases[1].findtext("system-out") or "").splitlines() == ["1,500 passed MBX-003: title of MBX-003",
                                                                    *addresses]
    assert (root.attrib["tests"], root.attrib["failures"]) == ("2", "1")


def case(root: ET.Element, check_id: str) -> ET.Element:
    return next(c for c in root.iter("testcase") if c.attrib["classname"] == check_id)


def test_a_fail_is_a_failure_with_the_message_and_the_remediation() -> None:
    failure = case(parse(sample_findings()), "MBX-001").find("failure")
    assert failure is not None
    assert failure.attrib["message"] == "bob@contoso.com uses another profile"
    assert failure.attrib["type"] == "high"
    assert failure.text == "Point the mailbox at the profile.\n  1. Open the mailbox."


def test_a_fail_without_remediation_still_counts_as_a_failure() -> None:
    root = parse([finding("PRF-001", Status.FAIL, "profile", "the profile is inactive")])
    assert case(root, "PRF-001").find("failure") is not None
    assert root.attrib["failures"] == "1"


def test_error_and_skip_carry_the_message() -> None:
    root = parse(sample_findings())
    error = case(root, "EXO-002").find("error")
    assert error is not None
    assert error.attrib["message"] == "could not read appRoleAssignments: HTTP 403"
    skipped = case(root, "PRF-002").find("skipped")
    assert skipped is not None
    assert skipped.attrib["message"] == "blocked: PRF-001 failed; fix it first"


def test_a_warn_passes_with_the_warning_in_system_out() -> None:
    warn = case(parse(sample_findings()), "APP-004")
    assert warn.find("failure") is None
    assert warn.find("error") is None
    assert warn.find("skipped") is None
    out = warn.findtext("system-out") or ""
    assert out.startswith("warning: the only valid secret expires on 2026-03-20\nfix: Add a new client secret")
    assert f"$ az ad app credential reset --id {CLIENT} --append" in out


def test_evidence_is_compact_json_in_system_out() -> None:
    out = case(parse(sample_findings()), "APP-004").findtext("system-out") or ""
    line = next(line for line in out.splitlines() if line.startswith("evidence: "))
    assert json.loads(line.removeprefix("evidence: ")) == {"expires": "2026-03-20T00:00:00+00:00"}


def test_a_plain_pass_has_no_children() -> None:
    passed = case(parse(sample_findings()), "APP-001")
    assert list(passed) == []


def test_suites_carry_the_run_metadata() -> None:
    app = suites(parse(sample_findings()))["xtcheck.APP"]
    properties = {p.attrib["name"]: p.attrib["value"] for p in app.iter("property")}
    assert properties["client_id"] == CLIENT
    assert app.attrib["timestamp"] == "2026-03-01T10:00:00Z"


def test_output_is_identical_in_any_input_order() -> None:
    findings = sample_findings()
    expected = render(findings)
    shuffled = findings[:]
    random.Random(7).shuffle(shuffled)
    assert render(shuffled) == expected


def test_markup_and_quotes_are_escaped() -> None:
    tricky = 'a <b> & "c" \'d\''
    fixed = finding("APP-001", Status.FAIL, tricky, tricky, evidence={"raw": tricky},
                    remediation=Remediation(tricky, commands=(f"az ad app show --id '{tricky}'",)))
    text = render([fixed])
    assert "<b>" not in text
    assert "&lt;b&gt; &amp;" in text
    root = ET.fromstring(text)
    parsed = case(root, "APP-001")
    assert parsed.attrib["name"] == tricky
    failure = parsed.find("failure")
    assert failure is not None
    assert failure.attrib["message"] == tricky
    assert (failure.text or "").startswith(tricky)
    out = parsed.findtext("system-out") or ""
    assert json.loads(out.removeprefix("evidence: ")) == {"raw": tricky}


def test_hidden_and_xml_forbidden_characters_cannot_break_the_document() -> None:
    hostile = "evil\x1b[2J\x00\ufffe\r\n</system-out><x>\u202e"
    root = parse([finding("MBX-001", Status.FAIL, hostile, hostile), *brief_passes("MBX-002", hostile)])
    failure = case(root, "MBX-001")
    assert failure.attrib["name"] == "evil\\x1b[2J\\x00\\ufffe\\r\n</system-out><x>\\u202e"
    listed = (case(root, "MBX-002").findtext("system-out") or "").splitlines()
    assert listed[1:] == ["evil\\x1b[2J\\x00\\ufffe\\r\\n</system-out><x>\\u202e"]  # one subject, one line


def test_no_findings_is_still_a_document() -> None:
    root = parse([])
    assert root.tag == "testsuites"
    assert list(root) == []
