"""`xtcheck diff OLD.json NEW.json`: what appeared, what was resolved, what changed; exit 1 on a regression."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from gate_samples import save_demo

from checks.cli import main
from checks.drift import compare
from checks.model import BriefPass, Finding, Outcome, Run, Severity, Status, WaiverNote, passed
from checks.report.jsonreport import report_document

RUN = Run(tool_version="0.1.0", started="2026-03-01T10:00:00Z", finished="2026-03-01T10:00:04Z",
          environment_url="https://contoso.crm4.dynamics.com", dynamics_tenant="a", exchange_tenant="b",
          client_id="c", profile="p", cloud="public", checks=())


def finding(check_id: str, subject: str, status: Status, severity: Severity = Severity.HIGH,
            waiver: WaiverNote | None = None) -> Finding:
    return Finding(check_id, f"title of {check_id}", severity, status, subject, f"{subject} is {status}",
                   waiver=waiver)


def _approved(subject: str, row: object, brief: bool = False) -> Outcome | None:
    return None if brief else passed(subject, f"{subject} is approved")


def brief(check_id: str, subject: str) -> Finding:
    """A pass over a mailbox row, as the engine makes it (named under its check in a version 2 report)."""
    return BriefPass(subject, _approved, {}).for_check(check_id, f"title of {check_id}", Severity.HIGH)


def version_1(path: Path, *findings: Finding) -> Path:
    """A report as xtcheck wrote it before version 2: every finding whole, passes included, and no `passed`."""
    document = report_document(findings, RUN)
    for group in document.pop("passed"):
        document["findings"] += [{"check_id": group["check_id"], "title": group["title"],
                                  "severity": group["severity"], "status": "pass", "subject": subject,
                                  "message": f"{subject} passed", "evidence": {}, "remediation": None,
                                  "blocked_by": None, "waiver": None, "fingerprint": "0" * 64}
                                 for subject in group["subjects"]]
    document["schema_version"] = "1"
    del document["run"]["attestation"]["live_probe"]
    del document["summary"]["gate"]
    path.write_text(json.dumps(document), encoding="utf-8")
    return path


def report(path: Path, *findings: Finding) -> Path:
    path.write_text(json.dumps(report_document(list(findings), RUN)), encoding="utf-8")
    return path


BASE = (finding("APP-004", "app c", Status.PASS), finding("MBX-002", "bob@contoso.com", Status.PASS),
        finding("MBX-002", "carol@contoso.com", Status.FAIL))


@pytest.fixture(scope="module")
def demo_run(tmp_path_factory: pytest.TempPathFactory) -> Path:
    return save_demo(tmp_path_factory.mktemp("demo"))


def test_a_pass_that_now_fails_is_a_regression_and_exits_1(tmp_path: Path,
                                                            capsys: pytest.CaptureFixture[str]) -> None:
    old = report(tmp_path / "old.json", *BASE)
    new = report(tmp_path / "new.json", finding("APP-004", "app c", Status.FAIL), *BASE[1:])
    assert main(["diff", str(old), str(new)]) == 1
    out = capsys.readouterr().out.splitlines()
    assert out[0] == f"xtcheck diff: {old} (2026-03-01T10:00:00Z) -> {new} (2026-03-01T10:00:00Z)"
    assert out[1:] == ["", "changed (1)",
                       "   PASS -> FAIL  APP-004  app c (high): app c is fail  REGRESSION",
                       "", "1 regression, 0 resolved, 0 appeared, 1 changed"]


def test_a_fix_exits_0_and_is_listed_as_resolved(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    old = report(tmp_path / "old.json", *BASE)
    new = report(tmp_path / "new.json", *BASE[:2], finding("MBX-002", "carol@contoso.com", Status.PASS))
    assert main(["diff", str(old), str(new)]) == 0
    out = capsys.readouterr().out
    assert "resolved (1)\n   FAIL -> PASS  MBX-002  carol@contoso.com (high): carol@contoso.com is pass\n" in out
    assert out.endswith("0 regressions, 1 resolved, 0 appeared, 0 changed\n")


def test_identical_reports_exit_0_with_no_changes(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    old = report(tmp_path / "old.json", *BASE)
    assert main(["diff", str(old), str(old)]) == 0
    assert capsys.readouterr().out.splitlines()[1:] == ["no changes"]


def test_a_new_failing_subject_appears_and_a_gone_one_is_resolved(tmp_path: Path) -> None:
    old = json.loads(report(tmp_path / "old.json", *BASE).read_text(encoding="utf-8"))
    new = json.loads(report(tmp_path / "new.json", *BASE[:2], finding("MBX-002", "dave@contoso.com",
                                                                       Status.WARN)).read_text(encoding="utf-8"))
    drift = compare(old, new)
    assert [(c.subject, c.before, c.after, c.regression) for c in drift.appeared] == [
        ("dave@contoso.com", None, Status.WARN, True)]
    assert [(c.subject, c.before, c.after) for c in drift.resolved] == [("carol@contoso.com", Status.FAIL, None)]
    assert drift.changed == []


def test_only_getting_worse_is_a_regression(tmp_path: Path) -> None:
    old = json.loads(report(tmp_path / "old.json", finding("APP-004", "app c", Status.FAIL),
                            finding("MBX-002", "bob@contoso.com", Status.SKIP)).read_text(encoding="utf-8"))
    new = json.loads(report(tmp_path / "new.json", finding("APP-004", "app c", Status.WARN),
                            finding("MBX-002", "bob@contoso.com", Status.ERROR)).read_text(encoding="utf-8"))
    drift = compare(old, new)
    assert [(c.check_id, c.before, c.after, c.regression) for c in drift.changed] == [
        ("APP-004", Status.FAIL, Status.WARN, False), ("MBX-002", Status.SKIP, Status.ERROR, True)]


def test_below_the_floor_or_waived_it_is_listed_but_not_a_regression(tmp_path: Path,
                                                                     capsys: pytest.CaptureFixture[str]) -> None:
    old = report(tmp_path / "old.json", *BASE)
    low = report(tmp_path / "low.json", finding("APP-004", "app c", Status.FAIL, Severity.LOW), *BASE[1:])
    assert main(["diff", str(old), str(low), "--min-severity", "medium"]) == 0
    assert "PASS -> FAIL  APP-004  app c (low)" in capsys.readouterr().out
    assert main(["diff", str(old), str(low)]) == 1
    waived = report(tmp_path / "waived.json", finding("APP-004", "app c", Status.FAIL,
                                                      waiver=WaiverNote("rotation", "Ana", "2099-01-01", "applied")),
                    *BASE[1:])
    assert main(["diff", str(old), str(waived)]) == 0


def test_an_unreadable_or_invalid_report_is_exit_2(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    good = report(tmp_path / "good.json", *BASE)
    assert main(["diff", str(good), str(tmp_path / "missing.json")]) == 2
    assert "cannot read the report" in capsys.readouterr().err
    broken = tmp_path / "broken.json"
    document = json.loads(good.read_text(encoding="utf-8"))
    document["findings"][0]["status"] = "passed"
    broken.write_text(json.dumps(document), encoding="utf-8")
    assert main(["diff", str(broken), str(good)]) == 2
    err = capsys.readouterr().err
    assert err == f"xtcheck: {broken} is not a valid xtcheck JSON report at findings[0].status: 'passed' is not one " \
                  "of pass, fail, warn, error, skip\n"
    (tmp_path / "text.json").write_text("not json", encoding="utf-8")
    assert main(["diff", str(tmp_path / "text.json"), str(good)]) == 2
    assert "is not an xtcheck JSON report: not JSON" in capsys.readouterr().err


def test_a_real_audit_report_diffs_cleanly_against_itself(demo_run: Path, capsys: pytest.CaptureFixture[str]) -> None:
    report_path = demo_run / "report" / "xtcheck-report.json"
    assert main(["diff", str(report_path), str(report_path)]) == 0
    assert capsys.readouterr().out.endswith("no changes\n")


def test_a_passing_mailbox_that_now_fails_is_a_regression_in_version_2(tmp_path: Path,
                                                                     capsys: pytest.CaptureFixture[str]) -> None:
    old = report(tmp_path / "old.json", brief("MBX-002", "Bob@contoso.com"), brief("MBX-002", "amy@contoso.com"))
    new = report(tmp_path / "new.json", finding("MBX-002", "bob@contoso.com", Status.FAIL),
                 brief("MBX-002", "amy@contoso.com"), brief("MBX-003", "amy@contoso.com"))
    assert "passed" in json.loads(old.read_text(encoding="utf-8"))
    assert main(["diff", str(old), str(new)]) == 1
    out = capsys.readouterr().out.splitlines()
    assert out[1:] == ["", "changed (1)", "   PASS -> FAIL  MBX-002  bob@contoso.com (high): bob@contoso.com is fail  "
                       "REGRESSION", "", "1 regression, 0 resolved, 0 appeared, 1 changed"]
    assert main(["diff", str(new), str(old)]) == 0
    assert "   FAIL -> PASS  MBX-002  Bob@contoso.com (high): title of MBX-002" in capsys.readouterr().out


def test_a_version_1_report_diffs_against_version_2(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    """Reports written before passes were named under their check still compare: a pass is a pass in either."""
    findings = (*BASE, brief("MBX-001", "amy@contoso.com"))
    old, new = version_1(tmp_path / "old.json", *findings), report(tmp_path / "new.json", *findings)
    assert main(["diff", str(old), str(new)]) == 0
    assert capsys.readouterr().out.splitlines()[1:] == ["no changes"]
    fixed = report(tmp_path / "fixed.json", *BASE[:2], finding("MBX-002", "carol@contoso.com", Status.PASS),
                   brief("MBX-001", "amy@contoso.com"))
    assert main(["diff", str(old), str(fixed)]) == 0
    assert "resolved (1)" in capsys.readouterr().out


def test_a_report_of_another_version_or_with_a_broken_list_is_exit_2(tmp_path: Path,
                                                                    capsys: pytest.CaptureFixture[str]) -> None:
    good = report(tmp_path / "good.json", *BASE, brief("MBX-001", "amy@contoso.com"))
    document = json.loads(good.read_text(encoding="utf-8"))
    cases = {
        "future": ({**document, "schema_version": "9"}, "is an xtcheck JSON report of schema version '9'; this "
                   "xtcheck reads versions 1, 2: compare it with the xtcheck that wrote it"),
        "subjects": ({**document, "passed": [{**document["passed"][0], "subjects": ["a", 7]}]},
                     "is not a valid xtcheck JSON report at passed[0].subjects: not every subject is a string"),
        "missing": ({**document, "findings": [{k: v for k, v in document["findings"][0].items() if k != "subject"}]},
                    "is not a valid xtcheck JSON report at findings[0]: 'subject' is missing"),
        "header": ({**document, "summary": {}},
                   "is not a valid xtcheck JSON report at summary: "),
    }
    for name, (broken, expected) in cases.items():
        path = tmp_path / f"{name}.json"
        path.write_text(json.dumps(broken), encoding="utf-8")
        assert main(["diff", str(path), str(good)]) == 2, name
        assert capsys.readouterr().err.startswith(f"xtcheck: {path} {expected}"), name
