"""Faults the matrix does not reach: a failure on the second 5000-row Dataverse page at the default page size, a
real failure next to a broken read (exit 1), a Retry-After header that is not a number, a token that really expired
mid-run, a login outage that hits only the live sign-in probe, and the config's `http:` section reaching the wire.

Every audit here reads its config file, whose `http:` section shortens the retries as an operator wanting a fast gate
would (2 attempts, a 2 s budget); nothing of xtcheck is patched, and the sandbox is the only fake."""

from __future__ import annotations

import json
from collections.abc import Callable
from pathlib import Path
from typing import Any

import httpx
import pytest
import yaml

from checks.audit import audit
from checks.cli import main
from checks.config import load
from checks.drift import every_finding
from checks.errors import ProbeError
from checks.gate import exit_code
from checks.http.api import Api
from checks.http.client import Http
from checks.http.retry import retry_after
from checks.model import Finding, Status
from checks.sandbox.server import Sandbox
from checks.settings import RunOptions, Settings

StartSandbox = Callable[..., Sandbox]
FAST = {"retries": 2, "retry_budget": 2}
READER = "4d5e6f70-8192-4a3b-bc4d-5e6f708192a3"
SYNC_APP = "9b8c7d6e-5f4a-4b3c-8d2e-1f0a9b8c7d6e"
DATAVERSE = "dataverse:fabrikam-prod"


def write_config(cloud: Sandbox, **http: Any) -> Path:
    """The sandbox's config with an `http:` section (FAST, then `http`), as an operator would write it."""
    path = cloud.workdir / "xtcheck.yaml"
    path.write_text(yaml.safe_dump({**cloud.config(), "http": {**FAST, **http}}, sort_keys=False), encoding="utf-8")
    return path


def settings_for(cloud: Sandbox, *, only: frozenset[str] = frozenset(), **http: Any) -> Settings:
    return load(write_config(cloud, **http), RunOptions(only=only), {})


def statuses(findings: list[Finding]) -> dict[tuple[str, str], Status]:
    return {(f.check_id, f.subject): f.status for f in findings}


def test_a_dataverse_read_that_fails_on_its_second_page_of_5000_fails_as_a_whole(start_sandbox: StartSandbox,
                                                                                 tmp_path: Path) -> None:
    """The default page size (odata.maxpagesize=5000) and 5001 mailboxes on the profile: page 2 is a nextLink."""
    path = tmp_path / "large.json"
    path.write_text(json.dumps({"name": "large", "summary": "5001 mailboxes", "extends": "healthy", "patch": [
        {"op": "add", "path": "/environments/0/generate", "value": {"mailboxes": 4995}}]}), encoding="utf-8")
    cloud = start_sandbox(str(path))
    settings = settings_for(cloud, only=frozenset({"PRF-001", "MBX-001"}))
    assert settings.http.dataverse_page_size == 5000
    healthy = audit(settings)
    assert sum(1 for f in healthy.findings if f.check_id == "MBX-001" and f.status is Status.PASS) == 5001
    assert any("(2 pages)" in s for s in healthy.run.completeness)

    cloud.add_fault("status", service=DATAVERSE, path=r"/mailboxes\?.*skiptoken", status=500, count=None)
    broken = audit(settings)
    mbx = [f for f in broken.findings if f.check_id == "MBX-001"]
    assert [(f.status, f.subject) for f in mbx] == [(Status.ERROR, "mailboxes")]  # never 5000 passes and a gap
    assert "answered 500" in mbx[0].message
    assert not any("active mailboxes" in s for s in broken.run.completeness)
    assert exit_code(broken.findings) == 3

    cloud.faults.clear()
    cloud.add_fault("status", service=DATAVERSE, path=r"/mailboxes\?.*skiptoken", status=503, count=1)
    recovered = audit(settings)
    assert statuses(recovered.findings) == statuses(healthy.findings)


def test_a_broken_read_next_to_a_real_failure_exits_1(start_sandbox: StartSandbox, tmp_path: Path,
                                                      capsys: pytest.CaptureFixture[str]) -> None:
    cloud = start_sandbox("mailbox-pending-approval")
    cloud.add_fault("status", service="graph", path=r"^/v1\.0/domains", status=500, count=None)
    code = main(["audit", "--config", str(write_config(cloud)), "--format", "json", "--output-dir", str(tmp_path)])
    captured = capsys.readouterr()
    assert "Traceback" not in captured.out + captured.err
    report = json.loads((tmp_path / "xtcheck-report.json").read_text(encoding="utf-8"))
    by_key = {(f["check_id"], f["subject"]): f["status"] for f in every_finding(report)}
    assert by_key[("MBX-002", "chloe.nguyen@contoso.com")] == "fail"  # the real failure is still reported
    assert {s for (c, _), s in by_key.items() if c == "MBX-005"} == {"error"}  # the broken read is an error
    assert code == 1


@pytest.mark.parametrize(("header", "expected"), [
    ("1.5", None), ("soon", None), ("-1", None), ("\u00b2".encode(), None), ("inf", None), ("", None), ("  7 ", 7.0),
    ("Wed, 21 Oct 2015 07:28:00 GMT", 0.0), ("Wed, 21 Oct 2015 07:28:00", 0.0),
])
def test_a_retry_after_that_is_not_a_number_or_a_date_is_no_advice(header: str | bytes,
                                                                   expected: float | None) -> None:
    assert retry_after(httpx.Response(429, headers=[("Retry-After", header)])) == expected


def test_a_throttled_answer_with_a_garbled_retry_after_is_retried_not_a_crash(start_sandbox: StartSandbox) -> None:
    cloud = start_sandbox()
    settings = settings_for(cloud, only=frozenset({"EXO-001"}))
    cloud.add_fault("throttle", service="graph", retry_after=-1, count=1)  # "Retry-After: -1"
    assert [f.status for f in audit(settings).findings] == [Status.PASS]
    cloud.add_fault("throttle", service="graph", retry_after=-1, count=None)
    (finding,) = audit(settings).findings
    assert finding.status is Status.ERROR and "429" in finding.message


def test_a_token_that_expired_mid_run_is_renewed_once(start_sandbox: StartSandbox) -> None:
    """Graph refuses an expired token with 401 (the sandbox validates it for real); the read asks for the token
    again and, given a new one, resends."""
    cloud = start_sandbox()
    tokens = [cloud.issue_token("B", READER, cloud.graph_url, roles=["Application.Read.All"], lifetime=-600),
              cloud.issue_token("B", READER, cloud.graph_url, roles=["Application.Read.All"])]
    handed: list[str] = []

    def token(refused: str | None) -> str:
        handed.append(tokens[min(len(handed), 1)])
        return handed[-1]

    http = Http(cloud.login_url, cloud.ca_path)
    graph = Api(http.client(), f"{cloud.graph_url}/v1.0", token, service="Microsoft Graph")
    assert graph.get(f"servicePrincipals(appId='{SYNC_APP}')")["appId"] == SYNC_APP
    assert [e.status for e in cloud.log.entries("graph")] == [401, 200]
    assert handed == tokens


def test_a_refused_token_is_not_resent_unchanged(start_sandbox: StartSandbox) -> None:
    cloud = start_sandbox()
    expired = cloud.issue_token("B", READER, cloud.graph_url, roles=["Application.Read.All"], lifetime=-600)
    http = Http(cloud.login_url, cloud.ca_path)
    graph = Api(http.client(), f"{cloud.graph_url}/v1.0", lambda _: expired, service="Microsoft Graph")
    with pytest.raises(ProbeError, match="401 InvalidAuthenticationToken .*token is expired"):
        graph.get(f"servicePrincipals(appId='{SYNC_APP}')")
    assert [e.status for e in cloud.log.entries("graph")] == [401]


@pytest.mark.parametrize(("kind", "status", "code"), [("status", 503, 90033), ("status", 500, 90033)])
def test_a_login_outage_during_the_live_sign_in_is_an_error_not_a_failure(start_sandbox: StartSandbox, kind: str,
                                                                          status: int, code: int) -> None:
    """Only the sync app's own sign-in (EXO-003's live probe) meets the outage: the reader signs in as usual."""
    cloud = start_sandbox()
    cloud.add_fault(kind, service="login", path=r"/oauth2/v2\.0/token", body=f"client_id={SYNC_APP}", status=status,
                    count=None)
    result = audit(settings_for(cloud, only=frozenset({"EXO"})))
    outage = [e for e in cloud.log.entries("login") if e.fault is not None]
    assert outage and {e.status for e in outage} == {status}
    exo3 = [f for f in result.findings if f.check_id == "EXO-003"]
    assert [f.status for f in exo3] == [Status.ERROR], [f.message for f in exo3]
    assert str(status) in exo3[0].message or f"AADSTS{code}" in exo3[0].message, exo3[0].message  # msal's words
    assert {f.status for f in result.findings if f.check_id != "EXO-003"} == {Status.PASS}


def test_the_http_section_reaches_the_wire(start_sandbox: StartSandbox) -> None:
    """`retries` is how many times a request is sent, `dataverse_page_size` the rows each Dataverse page holds."""
    cloud = start_sandbox()
    cloud.add_fault("status", service="graph", path=r"^/v1\.0/domains", status=503, count=None)
    result = audit(settings_for(cloud, only=frozenset({"MBX-001", "MBX-005"}), retries=3, dataverse_page_size=2))
    assert [e.status for e in cloud.log.entries("graph") if e.path == "/v1.0/domains"] == [503, 503, 503]
    assert {f.status for f in result.findings if f.check_id == "MBX-005"} == {Status.ERROR}
    mailbox_pages = [e for e in cloud.log.entries(DATAVERSE) if e.path.endswith("/mailboxes")]
    assert len(mailbox_pages) > 1 and f"({len(mailbox_pages)} pages)" in " ".join(result.run.completeness)

    cloud.log.clear()
    audit(settings_for(cloud, only=frozenset({"MBX-005"}), retries=1))
    assert [e.status for e in cloud.log.entries("graph") if e.path == "/v1.0/domains"] == [503]


def test_a_client_loop_refusal_of_the_live_sign_in_is_a_failure_with_its_cause(start_sandbox: StartSandbox) -> None:
    """AADSTS50196 (loop detected) is a client's behaviour, not an outage (Microsoft's error reference): EXO-003 fails
    on it and names the cause, instead of calling it undecided."""
    cloud = start_sandbox()
    cloud.add_fault("throttle", service="login", path=r"/oauth2/v2\.0/token", body=f"client_id={SYNC_APP}",
                    status=429, count=None)
    result = audit(settings_for(cloud, only=frozenset({"EXO"})))
    [exo3] = [f for f in result.findings if f.check_id == "EXO-003"]
    assert exo3.status == Status.FAIL and "AADSTS50196 (Client loop detected)" in exo3.message
    assert exo3.remediation is not None and exo3.remediation.steps[0].startswith("Known cause (AADSTS50196")
