"""Independent reads run at once, each host gets a bounded number of them, and the findings are those of a run that
reads one thing after the other. Behaviour only: no assertion here is about elapsed time."""

from __future__ import annotations

import threading
from collections.abc import Callable

import pytest

from checks import registry
from checks.audit import audit
from checks.config import load
from checks.http.client import PER_HOST, Http, tls_context
from checks.model import AuditResult, Status
from checks.sandbox.server import Sandbox
from checks.settings import RunOptions, Settings

StartSandbox = Callable[..., Sandbox]
CATALOG, _ = registry.load()
WORST_FIRST = (Status.FAIL, Status.ERROR, Status.WARN, Status.SKIP, Status.PASS)


def settings_for(cloud: Sandbox) -> Settings:
    return load(cloud.write_config(), RunOptions(), {})


def verdicts(result: AuditResult) -> dict[str, Status]:
    """The worst status per check, as the scenarios' `expect` blocks state them."""
    seen: dict[str, set[Status]] = {}
    for finding in result.findings:
        seen.setdefault(finding.check_id, set()).add(finding.status)
    return {check: next(s for s in WORST_FIRST if s in statuses) for check, statuses in seen.items()}


def comparable(result: AuditResult) -> list[tuple[object, ...]]:
    return [(f.check_id, f.subject, f.status, f.blocked_by, f.severity,
             f.remediation.summary if f.remediation else None) for f in result.findings]


def test_one_audit_reads_from_several_hosts_at_once(start_sandbox: StartSandbox) -> None:
    cloud = start_sandbox("healthy", latency=0.05)  # every answer takes a while, so overlapping reads show
    result = audit(settings_for(cloud))
    assert {f.status for f in result.findings} == {Status.PASS}
    assert cloud.log.max_in_flight() > 1
    services = {e.service for e in cloud.log.entries()}
    assert all(cloud.log.max_in_flight(s) <= PER_HOST for s in services)


def test_no_host_ever_gets_more_than_the_per_host_bound(start_sandbox: StartSandbox) -> None:
    cloud = start_sandbox("healthy", latency=0.2)
    http = Http(cloud.login_url, cloud.ca_path)
    client = http.client()
    url = f"{cloud.login_url}/{cloud.tenant('B').id}/v2.0/.well-known/openid-configuration"
    statuses: list[int] = []

    def read() -> None:
        statuses.append(client.get(url).status_code)

    threads = [threading.Thread(target=read) for _ in range(3 * PER_HOST)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=30)
    http.close()
    assert statuses == [200] * (3 * PER_HOST)
    assert cloud.log.max_in_flight("login") == PER_HOST  # the bound is reached, never passed


@pytest.mark.parametrize("scenario", ["healthy", "demo"])
def test_findings_equal_a_one_by_one_run_and_the_expected_verdicts(start_sandbox: StartSandbox,
                                                                    scenario: str) -> None:
    cloud = start_sandbox(scenario)
    settings = settings_for(cloud)
    together = audit(settings)
    one_by_one = audit(settings, readers=0)
    assert comparable(together) == comparable(one_by_one)
    expected = {k: Status(v) for k, v in cloud.scenario.get("expect", {}).items() if k in CATALOG}
    seen = verdicts(together)
    assert {k: seen[k] for k in expected} == expected
    assert all(status == Status.PASS for check, status in seen.items() if check not in expected)
    assert together.run.completeness == one_by_one.run.completeness


def test_the_live_sign_in_as_the_app_waits_for_its_prerequisites(start_sandbox: StartSandbox) -> None:
    """EXO-003 signs in to tenant B as the sync app itself; with no service principal there (EXO-001 fails) it is
    blocked, and reading ahead must not sign in anyway."""
    missing = audit(settings_for(start_sandbox("no-service-principal")))
    assert verdicts(missing)["EXO-001"] == Status.FAIL
    assert "live_token" not in missing.evidence
    assert not any(label.startswith("(live probe)") for label in missing.run.attestation.token_roles)
    healthy = audit(settings_for(start_sandbox("healthy")))
    assert healthy.evidence["live_token"]["acquired"] is True


def test_the_http_stack_keeps_its_trust_settings(start_sandbox: StartSandbox) -> None:
    """The per-host bound sits under the guard and over the real transport: TLS is still verified."""
    cloud = start_sandbox("healthy")
    http = Http(cloud.login_url)  # the sandbox's CA is not trusted here
    try:
        with pytest.raises(Exception, match="CERTIFICATE_VERIFY_FAILED"):
            http.client().get(f"{cloud.login_url}/common/v2.0/.well-known/openid-configuration")
    finally:
        http.close()
    assert tls_context(cloud.ca_path).verify_mode.name == "CERT_REQUIRED"
