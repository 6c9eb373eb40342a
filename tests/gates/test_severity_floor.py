"""The severity floor: findings below --min-severity are still reported but never change the exit code."""

from __future__ import annotations

from pathlib import Path

import pytest
from gate_samples import save_demo

from checks.cli import main
from checks.gate import exit_code, gating
from checks.model import Finding, Severity, Status, WaiverNote


def finding(status: Status, severity: Severity, waiver: WaiverNote | None = None) -> Finding:
    return Finding("MBX-002", "title", severity, status, "bob@contoso.com", "bob@contoso.com seen", waiver=waiver)


@pytest.fixture(scope="module")
def demo_run(tmp_path_factory: pytest.TempPathFactory) -> Path:
    return save_demo(tmp_path_factory.mktemp("demo"))


@pytest.fixture
def demo_snapshot(demo_run: Path) -> Path:
    return demo_run / "snapshot.json"


def test_a_low_severity_fail_below_the_floor_exits_0() -> None:
    low_fail = [finding(Status.FAIL, Severity.LOW)]
    assert exit_code(low_fail, min_severity="high") == 0
    assert exit_code(low_fail, min_severity="low") == 1
    assert exit_code(low_fail) == 1  # the default floor, info, counts everything


def test_the_floor_applies_to_errors_and_warnings_too() -> None:
    findings = [finding(Status.ERROR, Severity.MEDIUM), finding(Status.WARN, Severity.LOW)]
    assert exit_code(findings, fail_on="warn") == 1
    assert exit_code(findings, fail_on="warn", min_severity=Severity.MEDIUM) == 3
    assert exit_code(findings, fail_on="warn", min_severity="critical") == 0


def test_findings_at_the_floor_count() -> None:
    assert exit_code([finding(Status.FAIL, Severity.HIGH)], min_severity="high") == 1
    assert exit_code([finding(Status.FAIL, Severity.CRITICAL)], min_severity="high") == 1


def test_an_applied_waiver_never_counts_an_expired_or_lapsed_one_does() -> None:
    for state, code in (("applied", 0), ("expired", 1), ("lapsed", 1)):
        note = WaiverNote("accepted", "Ana", "2027-01-31", state)
        assert exit_code([finding(Status.FAIL, Severity.CRITICAL, note)]) == code, state
    assert gating([finding(Status.FAIL, Severity.CRITICAL, WaiverNote("a", "b", "2027-01-31", "applied"))]) == []


def test_the_cli_floor_reports_everything_and_gates_on_what_is_above_it(
        demo_snapshot: Path, capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["evaluate", str(demo_snapshot), "-q", "--min-severity", "critical"]) == 0  # the demo's fails are high
    out = capsys.readouterr().out
    assert "FAIL MBX-002  esther.obi@contoso.com" in out
    assert "\nFAIL — 48 pass, 4 fail, 3 warn, 0 error, 0 skip\n" in out
    assert main(["evaluate", str(demo_snapshot), "-q", "--min-severity", "high"]) == 1


def test_an_unknown_floor_is_a_usage_error(demo_snapshot: Path, capsys: pytest.CaptureFixture[str]) -> None:
    with pytest.raises(SystemExit) as exited:
        main(["evaluate", str(demo_snapshot), "--min-severity", "urgent"])
    assert exited.value.code == 2
    assert "invalid choice: 'urgent'" in capsys.readouterr().err
