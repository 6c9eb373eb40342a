"""The run deadline: a read that stalls becomes `error` findings, the reports are still written, the audit returns
and leaves no reader thread behind. Asserts on outcomes, never on elapsed time."""

from __future__ import annotations

import json
import threading
from collections.abc import Callable
from pathlib import Path

import pytest

from checks import snapshot
from checks.audit import audit
from checks.cli import main
from checks.config import load
from checks.model import Status
from checks.sandbox.server import Sandbox
from checks.settings import RunOptions

StartSandbox = Callable[..., Sandbox]
DATAVERSE = "dataverse:fabrikam-prod"


def readers_alive() -> list[threading.Thread]:
    return [t for t in threading.enumerate() if t.name.startswith("xtcheck-read")]


def wait_for_readers_to_end() -> list[threading.Thread]:
    for thread in readers_alive():
        thread.join(timeout=10)
    return readers_alive()


@pytest.fixture
def stalled(start_sandbox: StartSandbox) -> Sandbox:
    """Dataverse sends half of every mailboxes page, then nothing for a minute."""
    cloud = start_sandbox("healthy")
    cloud.add_fault("stall", service=DATAVERSE, path="/mailboxes", delay=60, count=None)
    return cloud


def test_a_stalled_read_becomes_error_findings_and_the_report_is_written(stalled: Sandbox, tmp_path: Path,
                                                                         capsys: pytest.CaptureFixture[str]) -> None:
    code = main(["audit", "--config", str(stalled.write_config()), "--timeout", "3", "--format", "json",
                 "--output-dir", str(tmp_path), "--save-evidence", str(tmp_path / "evidence.json")])
    assert code == 3  # errors and no fail
    report = json.loads((tmp_path / "xtcheck-report.json").read_text(encoding="utf-8"))
    by_status: dict[str, set[str]] = {}
    for finding in report["findings"]:
        by_status.setdefault(finding["status"], set()).add(finding["check_id"])
    assert by_status["error"] == {"MBX-001", "MBX-002", "MBX-003", "MBX-004", "MBX-005", "MBX-006"}
    assert "PRF-001" in by_status["pass"] and "EXO-002" in by_status["pass"]  # what was read in time still counts
    errors = [f for f in report["findings"] if f["status"] == "error"]
    assert all("not read within the 3 s deadline" in f["message"] for f in errors)
    assert "not read within the 3 s deadline" in capsys.readouterr().out
    saved = snapshot.read(tmp_path / "evidence.json")
    assert "deadline" in saved["failures"]["mailboxes"]["message"]
    assert wait_for_readers_to_end() == []


def test_the_deadline_with_a_failure_found_exits_1(start_sandbox: StartSandbox, tmp_path: Path) -> None:
    cloud = start_sandbox("consent-missing")
    cloud.add_fault("stall", service=DATAVERSE, path="/mailboxes", delay=60, count=None)
    code = main(["audit", "--config", str(cloud.write_config()), "--timeout", "3", "-q"])
    assert code == 1
    assert wait_for_readers_to_end() == []


def test_the_audit_function_keeps_its_deadline_too(stalled: Sandbox) -> None:
    result = audit(load(stalled.write_config(), RunOptions(), {}), timeout=2)
    mailbox_findings = [f for f in result.findings if f.check_id.startswith("MBX")]
    assert mailbox_findings and all(f.status == Status.ERROR for f in mailbox_findings)
    assert {f.status for f in result.findings if not f.check_id.startswith("MBX")} == {Status.PASS}
    assert "mailboxes" in result.failures and "mailboxes" not in result.evidence
    assert wait_for_readers_to_end() == []


def test_timeout_must_be_a_positive_number(capsys: pytest.CaptureFixture[str]) -> None:
    for bad in ("0", "-5", "soon"):
        with pytest.raises(SystemExit) as exit_info:
            main(["demo", "--timeout", bad])
        assert exit_info.value.code == 2
    assert "--timeout" in capsys.readouterr().err
