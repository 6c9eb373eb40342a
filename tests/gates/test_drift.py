"""`xtcheck diff OLD.json NEW.json`: what appeared, what was resolved, what changed; exit 1 on a regression."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from gate_samples import save_demo

from checks.cli import main
from checks.drift import compare
from checks.model import Finding, Run, Severity, Status, WaiverNote
from checks.report.jsonreport import report_document

RUN = Run(tool_version="0.1.0", started="2026-03-01T10:00:00Z", finished="2026-03-01T10:00:04Z",
          environment_url="https://contoso.crm4.dynamics.com", dynamics_tenant="a", exchange_tenant="b",
          client_id="c", profile="p", cloud="public", checks=())


def finding(check_id: str, subject: str, status: Status, severity: Severity = Severity.HIGH,
            waiver: WaiverNote | None = None) -> Finding:
    return Finding(check_id, f"title of {check_id}", severity, status, subject, f"{subject} is {status}",
                   waiver=waiver)


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
