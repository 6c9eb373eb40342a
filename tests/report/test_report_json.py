"""The JSON report: a contract test against schemas/report.schema.json, determinism, evidence encoding, and passes
over mailbox rows named under their check."""

from __future__ import annotations

import datetime as dt
import enum
import io
import json
import random
from collections.abc import Callable
from pathlib import PurePosixPath
from typing import Any

import jsonschema
import pytest
from report_samples import brief_passes, finding, make_run, sample_findings

import schemas
from checks.findings import jsonable
from checks.model import Finding, Remediation, Severity, Status
from checks.report import REPORTERS
from checks.report.jsonreport import render_json, report_document


def render(findings: list[Finding], **run: object) -> str:
    stream = io.StringIO()
    render_json(findings, make_run(**run), stream)
    return stream.getvalue()


def validate(document: Any) -> None:
    schema = schemas.load("report")
    jsonschema.Draft202012Validator.check_schema(schema)
    jsonschema.Draft202012Validator(schema, format_checker=jsonschema.FormatChecker()).validate(document)


def test_the_report_validates_against_its_schema() -> None:
    validate(json.loads(render(sample_findings())))


def test_an_empty_run_validates_too() -> None:
    document = json.loads(render([], checks=(), completeness=()))
    validate(document)
    assert document["summary"] == {"verdict": "pass", "exit_code": 0,
                                   "counts": {"pass": 0, "fail": 0, "warn": 0, "error": 0, "skip": 0},
                                   "gate": {"fail_on": "fail", "min_severity": "info", "counted": 0,
                                            "below_min_severity": 0, "waived": 0,
                                            "reason": "exit 0: nothing fails at any severity"}}


@pytest.mark.parametrize("findings", [[], sample_findings()], ids=["no findings", "samples"])
def test_the_streamed_report_is_the_document_with_a_finding_per_line(findings: list[Finding]) -> None:
    """render_json writes a finding at a time, each on a line of its own; the data is the whole document's."""
    run = make_run()
    text = render(findings)
    assert json.loads(text) == json.loads(json.dumps(report_document(findings, run)))
    lines = text.splitlines()
    document = json.loads(text)
    for key in ("findings", "passed"):
        if not document[key]:
            assert f'  "{key}": [],' in lines or f'  "{key}": []' in lines
            continue
        start = lines.index(f'  "{key}": [')
        end = next(n for n in range(start, len(lines)) if lines[n] in ("  ]", "  ],"))
        assert [json.loads(line.strip().rstrip(",")) for line in lines[start + 1:end]] == document[key]


def test_json_is_the_json_reporter() -> None:
    assert REPORTERS["json"] is render_json


def test_top_level_shape_and_summary() -> None:
    document = json.loads(render(sample_findings()))
    assert list(document) == ["schema_version", "tool", "run", "summary", "findings", "passed"]
    assert document["schema_version"] == "2"
    assert document["tool"] == {"name": "xtcheck", "version": "0.1.0"}
    assert document["summary"] == {"verdict": "fail", "exit_code": 1,
                                   "counts": {"pass": 6, "fail": 3, "warn": 1, "error": 1, "skip": 1},
                                   "gate": {"fail_on": "fail", "min_severity": "info", "counted": 4,
                                            "below_min_severity": 0, "waived": 0,
                                            "reason": "exit 1: 3 findings fail at any severity"}}
    attestation = document["run"]["attestation"]
    assert attestation["writes_attempted"] == 0
    assert list(attestation["requests"]) == sorted(attestation["requests"])


def test_errors_without_fails_exit_3() -> None:
    document = json.loads(render([finding("EXO-002", Status.ERROR, "app")]))
    assert document["summary"]["verdict"] == "error"
    assert document["summary"]["exit_code"] == 3


def test_findings_are_sorted_and_the_output_is_byte_identical_in_any_input_order() -> None:
    findings = sample_findings()
    expected = render(findings)
    for seed in range(5):
        shuffled = findings[:]
        random.Random(seed).shuffle(shuffled)
        assert render(shuffled) == expected
    document = json.loads(expected)
    ids = [(f["check_id"], f["subject"].lower()) for f in document["findings"]]
    assert ids == sorted(ids)
    assert [(group["check_id"], group["subjects"]) for group in document["passed"]] == [
        ("MBX-001", ["dave@contoso.com"]), ("MBX-002", ["dave@contoso.com", "erin@contoso.com"])]


def test_the_report_round_trips_to_the_same_findings() -> None:
    findings = [f for f in sample_findings() if f.status is not Status.PASS or f.check_id[:3] != "MBX"]
    findings = [f for f in findings if "expires" not in f.evidence]  # evidence already JSON-native
    document = json.loads(render(findings))
    rebuilt = [
        Finding(f["check_id"], f["title"], Severity(f["severity"]), Status(f["status"]), f["subject"], f["message"],
                f["evidence"], _remediation(f["remediation"]), f["blocked_by"])
        for f in document["findings"]
    ]
    assert sorted(rebuilt, key=Finding.sort_key) == sorted(findings, key=Finding.sort_key)
    assert render(rebuilt) == render(findings)


def _remediation(data: dict[str, Any] | None) -> Remediation | None:
    if data is None:
        return None
    return Remediation(data["summary"], tuple(data["steps"]), tuple(data["commands"]), tuple(data["links"]))


class Colour(enum.Enum):
    RED = "red"


def test_evidence_that_is_not_json_native_is_serialized_deterministically() -> None:
    evidence = {
        "expires": dt.datetime(2027, 1, 9, 12, 30, tzinfo=dt.UTC),
        "day": dt.date(2027, 1, 9),
        "roles": {"b", "c", "a"},
        "pair": ("x", 1),
        "colour": Colour.RED,
        "path": PurePosixPath("exports/ews.json"),
        2: "a non-string key",
    }
    document = json.loads(render([finding("APP-004", Status.WARN, "app", evidence=evidence)]))
    validate(document)
    assert document["findings"][0]["evidence"] == {
        "2": "a non-string key", "colour": "red", "day": "2027-01-09", "expires": "2027-01-09T12:30:00+00:00",
        "pair": ["x", 1], "path": "exports/ews.json", "roles": ["a", "b", "c"],
    }


@pytest.mark.parametrize(("value", "expected"), [
    (frozenset({3, 1, 2}), [1, 2, 3]),
    ({"b": {2, 1}, "a": (dt.time(9, 30),)}, {"a": ["09:30:00"], "b": [1, 2]}),
    (float("nan"), "nan"),
    (Status.FAIL, "fail"),
    (b"bytes", "bytes"),
])
def test_jsonable(value: Any, expected: Any) -> None:
    assert jsonable(value) == expected


def test_non_ascii_is_written_as_is() -> None:
    text = render([finding("MBX-001", Status.PASS, "jürgen@contoso.de")])
    assert "jürgen@contoso.de" in text


def test_markup_and_quotes_stay_valid_json() -> None:
    tricky = 'a <b> & "c" \'d\''
    fixed = finding("APP-001", Status.FAIL, tricky, tricky, evidence={"raw": tricky}, remediation=Remediation(tricky))
    document = json.loads(render([fixed]))
    validate(document)
    assert document["findings"][0]["evidence"] == {"raw": tricky}
    assert document["findings"][0]["remediation"]["summary"] == tricky


def test_the_schema_rejects_what_it_should() -> None:
    document = json.loads(render(sample_findings()))
    breakers: list[Callable[[dict[str, Any]], object]] = [
        lambda d: d["findings"][0].update(status="passed"),
        lambda d: d["findings"][0].update(check_id="app-1"),
        lambda d: d["findings"][0].update(severity="urgent"),
        lambda d: d["findings"][0].update(extra=1),
        lambda d: d.update(schema_version="1"),
        lambda d: d.pop("passed"),
        lambda d: d["passed"][0].update(subjects=[1]),
        lambda d: d["passed"][0].pop("count"),
        lambda d: d["summary"]["counts"].pop("skip"),
    ]
    for break_it in breakers:
        broken = json.loads(json.dumps(document))
        break_it(broken)
        with pytest.raises(jsonschema.ValidationError):
            validate(broken)


def test_a_passing_mailbox_is_its_address_under_each_check_not_a_finding() -> None:
    """5 checks x 1,000 mailboxes that pass: no finding, a list of addresses per check, the counts all there."""
    addresses = [f"user{n:05}@contoso.com" for n in range(1000)]
    passes = [p for check in ("MBX-001", "MBX-002", "MBX-003", "MBX-004", "MBX-005")
              for p in brief_passes(check, *reversed(addresses))]
    text = render([finding("APP-001", Status.PASS, "app", "the app exists"), *passes])
    document = json.loads(text)
    validate(document)
    assert [f["check_id"] for f in document["findings"]] == ["APP-001"]  # a pass about one thing keeps its words
    assert [(g["check_id"], g["count"], g["subjects"]) for g in document["passed"]] == [
        (check, 1000, addresses) for check in ("MBX-001", "MBX-002", "MBX-003", "MBX-004", "MBX-005")]
    assert document["summary"]["counts"]["pass"] == 5001
    per_mailbox = (len(text.encode()) - len(render([finding("APP-001", Status.PASS, "app", "the app exists")])))
    assert per_mailbox / len(addresses) <= 300  # the contract the issue set: a passing mailbox costs its addresses


def test_a_mailbox_that_fails_one_check_is_whole_there_and_listed_as_passing_the_others() -> None:
    failing = finding("MBX-002", Status.FAIL, "bob@contoso.com", "bob is not approved",
                      remediation=Remediation("Approve bob."), evidence={"approval": 0})
    document = json.loads(render([failing, *brief_passes("MBX-001", "bob@contoso.com", "amy@contoso.com"),
                                  *brief_passes("MBX-002", "amy@contoso.com")]))
    assert [(f["check_id"], f["subject"], f["status"], f["remediation"]["summary"]) for f in document["findings"]] \
        == [("MBX-002", "bob@contoso.com", "fail", "Approve bob.")]
    assert len(document["findings"][0]["fingerprint"]) == 64
    assert {g["check_id"]: g["subjects"] for g in document["passed"]} == {
        "MBX-001": ["amy@contoso.com", "bob@contoso.com"], "MBX-002": ["amy@contoso.com"]}
