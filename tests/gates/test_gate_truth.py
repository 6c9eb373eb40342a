"""One gate, one truth: the exit code, the console's last line, the JSON summary, the JUnit failures, the HTML and
Markdown reports and SARIF's invocation all say the same thing about --fail-on and --min-severity; diff tags only
what is a regression at its floor; an empty selection is a usage error."""

from __future__ import annotations

import json
import xml.etree.ElementTree as ET
from pathlib import Path

import pytest

from checks.cli import main

FORMATS = "console,json,junit,html,markdown,sarif"


def demo(tmp_path: Path, capsys: pytest.CaptureFixture[str], *options: str) -> tuple[int, str, dict[str, str]]:
    code = main(["demo", "-q", "--format", FORMATS, "--output-dir", str(tmp_path), *options])
    out = capsys.readouterr().out
    return code, out, {p.name: p.read_text(encoding="utf-8") for p in tmp_path.iterdir()}


def junit_counts(text: str) -> tuple[int, int]:
    root = ET.fromstring(text)
    return len(root.findall(".//failure")), len(root.findall(".//error"))


@pytest.mark.parametrize(("options", "code", "failures", "reason"), [
    ((), 1, 4, "exit 1: 4 findings fail at any severity"),
    (("--fail-on", "warn"), 1, 7, "exit 1: 4 findings fail and 3 warn at any severity (--fail-on warn)"),
    (("--min-severity", "critical"), 0, 0,
     "exit 0: nothing fails at or above critical; 7 findings below --min-severity critical not counted"),
])
def test_every_format_says_what_the_exit_code_says(tmp_path: Path, capsys: pytest.CaptureFixture[str],
                                                   options: tuple[str, ...], code: int, failures: int,
                                                   reason: str) -> None:
    exit_code, out, files = demo(tmp_path, capsys, *options)
    assert exit_code == code
    assert out.rstrip().splitlines()[-1] == reason  # the console's last line says why
    summary = json.loads(files["xtcheck-report.json"])["summary"]
    assert (summary["exit_code"], summary["gate"]["reason"], summary["gate"]["counted"]) == (code, reason, failures)
    assert junit_counts(files["xtcheck-junit.xml"]) == (failures, 0)  # exactly the findings that gate
    assert f"**Exit:** {reason}" in files["xtcheck-summary.md"].replace("\\", "")
    assert reason in files["xtcheck-report.html"]
    invocation = json.loads(files["xtcheck.sarif"])["runs"][0]["invocations"][0]
    assert (invocation["exitCode"], invocation["exitCodeDescription"]) == (code, reason)


def test_a_fail_below_the_floor_is_a_passing_case_that_says_it_was_not_counted(
        tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    _, _, files = demo(tmp_path, capsys, "--min-severity", "critical")
    root = ET.fromstring(files["xtcheck-junit.xml"])
    notes = [case.findtext("system-out") or "" for case in root.iter("testcase")
             if case.attrib["classname"] == "MBX-002" and case.attrib["name"] != "passing subjects"]
    assert notes and notes[0].startswith("not counted (fail below --min-severity critical): ")


def test_diff_tags_only_regressions_at_its_floor_and_says_why_the_others_are_not(
        tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    old, new = tmp_path / "old", tmp_path / "new"
    main(["demo", "-q", "--format", "json", "--output-dir", str(old), "--skip", "MBX-002"])
    main(["demo", "-q", "--format", "json", "--output-dir", str(new)])
    capsys.readouterr()
    args = ["diff", str(old / "xtcheck-report.json"), str(new / "xtcheck-report.json")]
    assert main([*args, "--min-severity", "critical"]) == 0
    out = capsys.readouterr().out
    assert "(worse, not a regression: below --min-severity critical)" in out and "REGRESSION" not in out
    assert "0 regressions at or above critical, " in out
    assert main(args) == 1
    assert "REGRESSION" in capsys.readouterr().out


@pytest.mark.parametrize(("selection", "named"), [
    (["--only", "MBX-004", "--skip", "MBX"], "MBX-004"),
    (["--only", ""], "--only"),
    (["--only", "ZZZ-999"], "ZZZ-999"),
    (["--skip", "APP,EXO,GRA,EWS,PRF,MBX"], "--skip"),
])
def test_a_selection_that_runs_nothing_is_a_usage_error(capsys: pytest.CaptureFixture[str], selection: list[str],
                                                        named: str) -> None:
    assert main(["demo", "-q", *selection]) == 2
    err = capsys.readouterr().err
    assert err.startswith("xtcheck: ") and named in err and len(err.splitlines()) == 1
