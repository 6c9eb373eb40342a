"""Managed identity: xtcheck on an Azure resource signs in as the resource's identity. msal finds the endpoint in the
environment, so every audit here runs in a child process whose environment names the sandbox's identity origin."""

from __future__ import annotations

import copy
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest
import yaml
from signin_support import environment, json_report, outputs, reader, scenario, xtcheck

from checks.sandbox.server import Sandbox

StartSandbox = Callable[..., Sandbox]
HOST_IDENTITY = "5c6d7e8f-9a0b-4c1d-8e2f-3a4b5c6d7e8f"


def with_identity(kind: str) -> dict[str, Any]:
    data = copy.deepcopy(scenario("signin-managed-identity"))
    reader(data, "host-identity")["managedIdentity"] = kind
    return data


def audit_in_child(cloud: Sandbox, out: Path, config: Path | None = None, *, endpoint: str = "app-service",
                   **extra: str) -> tuple[int, dict[str, Any], list[str]]:
    env = environment(**{**cloud.managed_identity_environment(endpoint), **extra})
    run = xtcheck("audit", "--config", str(config or cloud.write_config()), "--format", "console,json",
                  "--output-dir", str(out), env=env)
    return run.returncode, json_report(out), outputs(out, run.stdout, run.stderr)


@pytest.mark.parametrize("endpoint", ["app-service", "imds"])
def test_the_system_assigned_identity_reads_tenant_a_and_the_audit_passes(
        start_sandbox: StartSandbox, tmp_path: Path, endpoint: str) -> None:
    cloud = start_sandbox(with_identity("system"))
    credential = cloud.config()["credentials"][1]
    assert credential == {"tenant_id": cloud.tenant("A").id, "managed_identity": True}
    code, report, texts = audit_in_child(cloud, tmp_path, endpoint=endpoint)
    assert code == 0, texts[1]
    assert {f["status"] for f in report["findings"]} == {"pass"}
    served = [(e.method, e.path, e.status) for e in cloud.log.entries("identity")]
    path = "/msi/token" if endpoint == "app-service" else "/metadata/identity/oauth2/token"
    assert served == [("GET", path, 200)], "one token (Dataverse), then msal's cache"
    carried = report["run"]["attestation"]["token_roles"]
    assert f"the system-assigned managed identity in {cloud.tenant('A').id} for {cloud.environment_url()}" in carried
    assert f"GET {cloud.identity_url.removeprefix('https://')}" in report["run"]["attestation"]["requests"]
    assert cloud.log.writes() == []
    header = cloud.managed_identity_environment()["IDENTITY_HEADER"]
    assert all(header not in text for text in texts)


def test_a_user_assigned_identity_is_named_by_its_client_id(start_sandbox: StartSandbox, tmp_path: Path) -> None:
    cloud = start_sandbox(with_identity("user"))
    assert cloud.config()["credentials"][1]["managed_identity"] == {"client_id": HOST_IDENTITY}
    code, report, texts = audit_in_child(cloud, tmp_path)
    assert code == 0, texts[1]
    assert {f["status"] for f in report["findings"]} == {"pass"}
    assert "client_id=" + HOST_IDENTITY in cloud.log.entries("identity")[0].target


def test_asking_for_the_system_assigned_identity_where_there_is_none_is_an_error_finding(
        start_sandbox: StartSandbox, tmp_path: Path) -> None:
    cloud = start_sandbox(with_identity("user"))
    config = cloud.config()
    config["credentials"][1] = {"tenant_id": cloud.tenant("A").id, "managed_identity": True}
    path = tmp_path / "xtcheck.yaml"
    path.write_text(yaml.safe_dump(config), encoding="utf-8")
    code, report, _ = audit_in_child(cloud, tmp_path / "out", path)
    assert code == 3
    errors = [f["message"] for f in report["findings"] if f["status"] == "error"]
    assert errors and all("No system-assigned managed identity" in m for m in errors)


def test_a_managed_identity_cannot_read_another_tenant(start_sandbox: StartSandbox, tmp_path: Path) -> None:
    """The identity lives in tenant A; a config that uses it for tenant B gets a plain answer, not a 401 later."""
    cloud = start_sandbox(with_identity("system"))
    config = cloud.config()
    config["credentials"][0] = {"tenant_id": cloud.tenant("B").id, "managed_identity": True}
    path = tmp_path / "xtcheck.yaml"
    path.write_text(yaml.safe_dump(config), encoding="utf-8")
    code, report, _ = audit_in_child(cloud, tmp_path / "out", path)
    assert code == 3
    errors = [f["message"] for f in report["findings"] if f["status"] == "error"]
    assert errors and all("only gets tokens for its own tenant" in m for m in errors)
    assert any(cloud.tenant("A").id in m for m in errors)


def test_plain_http_goes_only_to_the_metadata_address_or_this_machine(
        start_sandbox: StartSandbox, tmp_path: Path) -> None:
    cloud = start_sandbox(with_identity("system"))
    code, report, _ = audit_in_child(cloud, tmp_path, endpoint="imds",
                                     AZURE_POD_IDENTITY_AUTHORITY_HOST="http://203.0.113.9")
    assert code == 3
    errors = [f["message"] for f in report["findings"] if f["status"] == "error"]
    assert errors and all("without TLS only the instance metadata service" in m for m in errors)
    assert "203.0.113.9" not in str(report["run"]["attestation"]["requests"]), "refused before it was sent"


def test_service_fabric_is_refused_plainly(start_sandbox: StartSandbox, tmp_path: Path) -> None:
    """msal pins Service Fabric's endpoint with a requests-only adapter; xtcheck says so instead of failing oddly."""
    cloud = start_sandbox(with_identity("system"))
    code, report, _ = audit_in_child(cloud, tmp_path, IDENTITY_SERVER_THUMBPRINT="ab" * 20)
    assert code == 3
    errors = [f["message"] for f in report["findings"] if f["status"] == "error"]
    assert errors and all("Service Fabric" in m for m in errors)
    assert cloud.log.entries("identity") == []
