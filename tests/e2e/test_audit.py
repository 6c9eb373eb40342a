"""End to end: every sandbox scenario audited through real msal, httpx and TLS; verdicts, exit codes, no writes."""

from __future__ import annotations

import dataclasses
import json
import socket
from collections.abc import Callable, Iterator
from pathlib import Path
from xml.etree import ElementTree

import jsonschema
import pytest

import schemas
from checks import registry
from checks.audit import audit
from checks.cli import main
from checks.config import load
from checks.gate import exit_code
from checks.model import AuditResult, Status
from checks.sandbox.scenario import builtin_names
from checks.sandbox.server import Sandbox
from checks.settings import RunOptions, Settings

StartSandbox = Callable[..., Sandbox]
WORST_FIRST = (Status.FAIL, Status.ERROR, Status.WARN, Status.SKIP, Status.PASS)
CATALOG, _ = registry.load()


def settings_for(cloud: Sandbox, **run: object) -> Settings:
    return load(cloud.write_config(), RunOptions(**run), {})  # type: ignore[arg-type]


def worst(result: AuditResult, check_id: str) -> Status:
    statuses = {f.status for f in result.findings if f.check_id == check_id}
    return next(s for s in WORST_FIRST if s in statuses)


@pytest.fixture(scope="module")
def audited() -> Iterator[dict[str, tuple[AuditResult, Sandbox]]]:
    """Every built-in scenario, audited once for this module."""
    results: dict[str, tuple[AuditResult, Sandbox]] = {}
    clouds = []
    for name in builtin_names():
        cloud = Sandbox(name).start()
        clouds.append(cloud)
        results[name] = (audit(settings_for(cloud)), cloud)
    yield results
    for cloud in clouds:
        cloud.stop()


@pytest.mark.parametrize("scenario", builtin_names())
def test_each_scenario_reaches_its_expected_verdicts(audited: dict[str, tuple[AuditResult, Sandbox]],
                                                     scenario: str) -> None:
    result, cloud = audited[scenario]
    expected = {k: Status(v) for k, v in cloud.scenario.get("expect", {}).items() if k in CATALOG}
    if not expected:
        pytest.skip(f"{scenario} is about checks that are not in the catalog yet")
    seen = {check_id: worst(result, check_id) for check_id in expected}
    assert seen == expected, [f"{f.status} {f.check_id} {f.subject}: {f.message}" for f in result.findings
                              if f.check_id in expected and f.status != expected[f.check_id]]
    unexpected = [f for f in result.findings if f.check_id not in expected and f.status != Status.PASS
                  and f.blocked_by is None]
    assert unexpected == [], "a scenario breaks only what it says it breaks"
    assert exit_code(result.findings) == (1 if Status.FAIL in expected.values() else 0)


@pytest.mark.parametrize("scenario", builtin_names())
def test_nothing_is_ever_written(audited: dict[str, tuple[AuditResult, Sandbox]], scenario: str) -> None:
    result, cloud = audited[scenario]
    assert cloud.log.writes() == []
    assert result.run.attestation.writes_attempted == 0
    assert all(method in ("GET", "POST") for method, *_ in (k.split() for k in result.run.attestation.requests))


def test_the_healthy_scenario_passes_every_check_with_exit_0(
        audited: dict[str, tuple[AuditResult, Sandbox]]) -> None:
    result, _ = audited["healthy"]
    assert {f.status for f in result.findings} == {Status.PASS}
    assert exit_code(result.findings) == 0
    assert set(result.run.check_ids) == set(CATALOG)
    assert "checked 6 of 6 active mailboxes on profile Exchange Online cross-tenant (Contoso), all pages read " \
           "(1 page)" in result.run.completeness
    assert result.run.client_id == "9b8c7d6e-5f4a-4b3c-8d2e-1f0a9b8c7d6e"


def test_a_root_cause_blocks_its_dependents_instead_of_cascading(
        audited: dict[str, tuple[AuditResult, Sandbox]]) -> None:
    result, _ = audited["profile-missing"]
    blocked = [f for f in result.findings if f.check_id.startswith("MBX") or f.check_id in ("PRF-002", "PRF-003")]
    assert blocked and all(f.status == Status.SKIP and f.blocked_by == "PRF-001" for f in blocked)
    assert exit_code(result.findings) == 1


def test_mailbox_findings_name_each_mailbox(audited: dict[str, tuple[AuditResult, Sandbox]]) -> None:
    result, _ = audited["mailbox-pending-approval"]
    mbx2 = {f.subject: f.status for f in result.findings if f.check_id == "MBX-002"}
    assert len(mbx2) == 6
    assert [s for s, status in mbx2.items() if status == Status.FAIL] == ["chloe.nguyen@contoso.com"]


def test_paging_a_large_environment_reads_every_mailbox(start_sandbox: StartSandbox, tmp_path: Path) -> None:
    path = tmp_path / "large.json"
    path.write_text(json.dumps({"name": "large", "summary": "many mailboxes", "extends": "healthy", "patch": [
        {"op": "add", "path": "/environments/0/generate", "value": {"mailboxes": 5200}}]}), encoding="utf-8")
    cloud = start_sandbox(str(path), graph_page_size=2)
    result = audit(settings_for(cloud, only=frozenset({"MBX-002"})))
    assert sum(1 for f in result.findings if f.status == Status.PASS) == 5206
    assert any("checked 5206 of 5206 active mailboxes" in s and "(2 pages)" in s for s in result.run.completeness)


def test_several_cross_tenant_profiles_without_a_choice_is_an_error(start_sandbox: StartSandbox,
                                                                   tmp_path: Path) -> None:
    path = tmp_path / "two.json"
    second = {"emailserverprofileid": "11112222-3333-4444-8555-666677778888", "name": "Old cross-tenant",
              "oauthclientid": "0badc0de-0000-4000-8000-000000000000", "isoauthclientsecretset": True,
              "exchangeonlinetenantid": "c4a1e9b2-8f3d-4e6a-b7c5-1d2e3f4a5b6c", "incomingcredentialretrieval": 7,
              "outgoingcredentialretrieval": 7, "createdon": "-30d", "modifiedon": "-30d"}
    path.write_text(json.dumps({"name": "two", "summary": "two candidates", "extends": "healthy", "patch": [
        {"op": "add", "path": "/environments/0/emailserverprofiles/-", "value": second}]}), encoding="utf-8")
    result = audit(settings_for(start_sandbox(str(path))))
    prf1 = [f for f in result.findings if f.check_id == "PRF-001"]
    assert [f.status for f in prf1] == [Status.ERROR]
    assert "Old cross-tenant" in prf1[0].message and "dynamics.profile" in prf1[0].message


def test_an_unreachable_dataverse_gives_errors_and_exit_3(start_sandbox: StartSandbox) -> None:
    cloud = start_sandbox()
    cloud.add_fault("drop", service="dataverse:fabrikam-prod", count=None)  # every connection cut, every retry
    result = audit(settings_for(cloud, only=frozenset({"PRF", "MBX"})))
    assert {f.status for f in result.findings} <= {Status.ERROR, Status.SKIP}
    assert any("cannot reach Dataverse at 127.0.0.1" in f.message for f in result.findings)
    assert exit_code(result.findings) == 3


def test_a_wrong_environment_url_is_named_by_entra(start_sandbox: StartSandbox) -> None:
    cloud = start_sandbox()
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        closed = probe.getsockname()[1]
    settings = dataclasses.replace(settings_for(cloud, only=frozenset({"PRF"})),
                                   environment_url=f"https://127.0.0.1:{closed}")
    result = audit(settings)
    assert [f.status for f in result.findings if f.check_id == "PRF-001"] == [Status.ERROR]
    assert "AADSTS500011" in result.findings[0].message
    assert exit_code(result.findings) == 3


def test_an_untrusted_certificate_gives_errors_and_exit_3(start_sandbox: StartSandbox) -> None:
    cloud = start_sandbox()
    settings = dataclasses.replace(settings_for(cloud), ca_bundle=None)
    result = audit(settings)
    assert Status.PASS not in {f.status for f in result.findings}
    assert any("TLS certificate is not trusted" in f.message for f in result.findings)
    assert exit_code(result.findings) == 3


def test_a_reader_without_graph_permission_is_an_error_never_a_pass(start_sandbox: StartSandbox,
                                                                    tmp_path: Path) -> None:
    path = tmp_path / "noperm.json"
    path.write_text(json.dumps({"name": "noperm", "summary": "reader lacks Graph roles", "extends": "healthy",
                                "patch": [{"op": "replace", "path": "/readers/0/grants/B", "value": []}]}))
    result = audit(settings_for(start_sandbox(str(path)), only=frozenset({"EXO"})))
    exo = [f for f in result.findings if f.check_id == "EXO-001"]
    assert [f.status for f in exo] == [Status.ERROR]
    assert exo[0].remediation is not None and "Application.Read.All" in " ".join(exo[0].remediation.steps)


def test_a_reader_signing_in_with_a_certificate_audits_the_same(start_sandbox: StartSandbox,
                                                               tmp_path: Path) -> None:
    path = tmp_path / "cert-reader.json"
    path.write_text(json.dumps({"name": "cert-reader", "summary": "reader uses a certificate", "extends": "healthy",
                                "patch": [{"op": "remove", "path": "/readers/0/secret"},
                                          {"op": "add", "path": "/readers/0/certificate", "value": "reader-cert"}]}))
    cloud = start_sandbox(str(path))
    settings = settings_for(cloud)
    assert all(c.certificate is not None and c.secret is None for c in settings.credentials)
    result = audit(settings)
    assert {f.status for f in result.findings} == {Status.PASS}


def secrets_of(cloud: Sandbox) -> list[str]:
    values = [p["secret"] for a in cloud.scenario.get("applications", []) for p in a.get("passwordCredentials", [])]
    return values + [r["secret"] for r in cloud.scenario.get("readers", []) if "secret" in r]


@pytest.mark.parametrize("scenario", ["healthy", "demo", "secrets-expired"])
def test_no_secret_appears_in_any_output(start_sandbox: StartSandbox, tmp_path: Path,
                                         capsys: pytest.CaptureFixture[str], scenario: str) -> None:
    cloud = start_sandbox(scenario)
    config = cloud.write_config()
    out_dir = tmp_path / "reports"
    code = main(["audit", "--config", str(config), "--format", "console,json,junit", "--output-dir", str(out_dir),
                 "-v"])
    captured = capsys.readouterr()
    texts = [captured.out, captured.err, *(p.read_text(encoding="utf-8") for p in out_dir.iterdir())]
    assert code in (0, 1)
    report = json.loads((out_dir / "xtcheck-report.json").read_text(encoding="utf-8"))
    jsonschema.validate(report, schemas.load("report"))
    suites = ElementTree.parse(out_dir / "xtcheck-junit.xml").getroot()
    assert len(suites.findall(".//testcase")) == len(report["findings"]) + len(report["passed"])
    assert len(suites.findall(".//failure")) == report["summary"]["counts"]["fail"]
    for secret in secrets_of(cloud):
        assert all(secret not in text for text in texts), "a secret leaked into an output"
        assert all(secret[:12] not in text for text in texts)


def test_demo_shows_failures_with_their_fixes(capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["demo"]) == 1
    out = capsys.readouterr().out
    assert "FAIL" in out and "MBX-002" in out and "Approve Email" in out


def test_demo_lists_its_scenarios(capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["demo", "--list"]) == 0
    assert "consent-missing" in capsys.readouterr().out
