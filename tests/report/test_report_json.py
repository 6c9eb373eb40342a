"""The JSON report: a contract test against schemas/report.schema.json, determinism and evidence encoding."""

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
from report_samples import finding, make_run, sample_findings

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
                                   "counts": {"pass": 0, "fail": 0, "warn": 0, "error": 0, "skip": 0}}


@pytest.mark.parametrize("findings", [[], sample_findings()], ids=["no findings", "samples"])
def test_the_streamed_report_is_the_document_with_a_finding_per_line(findings: list[Finding]) -> None:
    """render_json writes a finding at a time, each on a line of its own; the data is the whole document's."""
    run = make_run()
    text = render(findings)
    assert json.loads(text) == json.loads(json.dumps(report_document(findings, run)))
    lines = text.splitlines()
    start = lines.index('  "findings": [' if findings else '  "findings": []')
    assert [json.loads(line.strip().rstrip(",")) for line in lines[start + 1:-2]] == json.loads(text)["findings"]


def test_json_is_the_json_reporter() -> None:
    assert REPORTERS["json"] is render_json


def test_top_level_shape_and_summary() -> None:
    document = json.loads(render(sample_findings()))
    assert list(document) == ["schema_version", "tool", "run", "summary", "findings"]
    assert document["schema_version"] == "1"
    assert document["tool"] == {"name": "xtcheck", "version": "0.1.0"}
    assert document["summary"] == {"verdict": "fail", "exit_code": 1,
                                   "counts": {"pass": 3, "fail": 3, "warn": 1, "error": 1, "skip": 1}}
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
    ids = [(f["check_id"], f["subject"].lower()) for f in json.loads(expected)["findings"]]
    assert ids == sorted(ids)


def test_the_report_round_trips_to_the_same_findings() -> None:
    findings = [f for f in sample_findings() if "expires" not in f.evidence]  # evidence already JSON-native
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
        lambda d: d.update(schema_version="2"),
        lambda d: d["summary"]["counts"].pop("skip"),
    ]
    for break_it in breakers:
        broken = json.loads(json.dumps(document))
        break_it(broken)
        with pytest.raises(jsonschema.ValidationError):
            validate(broken)
