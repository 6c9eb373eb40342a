"""Workload identity federation: the reader app trusts an external identity provider's tokens (GitHub Actions OIDC,
a Kubernetes service account); xtcheck sends the token from federated_token_file as its client assertion."""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path
from typing import Any

import jwt
import msal
import pytest
from signin_support import json_report, outputs, scenario, xtcheck

from checks.audit import audit
from checks.config import load
from checks.http.msalhttp import MsalHttpClient
from checks.model import Status
from checks.sandbox.identity import Signer
from checks.sandbox.server import Sandbox
from checks.settings import RunOptions
from conftest import trusting

StartSandbox = Callable[..., Sandbox]
READER = "4d5e6f70-8192-4a3b-bc4d-5e6f708192a3"
MAIN = "repo:contoso/dynamics-config:ref:refs/heads/main"
FEATURE = "repo:contoso/dynamics-config:ref:refs/heads/feature/new-profile"


@pytest.fixture
def cloud(start_sandbox: StartSandbox) -> Sandbox:
    return start_sandbox(scenario("signin-federated"))


def token_file(cloud: Sandbox) -> Path:
    return Path(cloud.config()["credentials"][0]["federated_token_file"])


def sign_in(cloud: Sandbox, assertion: str, tenant: str = "B") -> dict[str, Any]:
    """The client credentials grant with `assertion` as the client assertion, through real msal."""
    app = msal.ConfidentialClientApplication(
        READER, client_credential={"client_assertion": lambda: assertion},
        authority=f"{cloud.login_url}/{cloud.tenant(tenant).id}", azure_region=False, instance_discovery=False,
        http_client=MsalHttpClient(trusting(cloud, timeout=10)), token_cache=msal.TokenCache())
    result: dict[str, Any] = app.acquire_token_for_client([f"{cloud.graph_url}/.default"])
    return result


def test_the_config_points_at_a_token_file_and_the_audit_passes_without_any_secret(cloud: Sandbox) -> None:
    settings = load(cloud.write_config(), RunOptions(), {})
    assert {c.kind for c in settings.credentials} == {"federated_token_file"}
    assert all(c.secret is None and c.certificate is None for c in settings.credentials)
    result = audit(settings)
    assert {f.status for f in result.findings} == {Status.PASS}
    assert cloud.log.writes() == []
    carried = result.run.attestation.token_roles
    assert carried[f"{READER} in {cloud.tenant('B').id} for {cloud.graph_url}"] == (
        "Application.Read.All", "Domain.Read.All", "Policy.Read.All", "User.Read.All")


def test_the_token_file_is_read_again_at_sign_in_not_only_when_the_config_loads(cloud: Sandbox) -> None:
    """CI and Kubernetes replace the token before it expires: xtcheck must send the file's current content."""
    config = cloud.write_config()
    path = token_file(cloud)
    path.write_text(cloud.federated_token(lifetime=-600), encoding="utf-8")  # expired when the config loads
    settings = load(config, RunOptions(), {})
    path.write_text(cloud.federated_token(), encoding="utf-8")  # the job refreshed it
    assert {f.status for f in audit(settings).findings} == {Status.PASS}


def test_a_token_for_another_branch_is_AADSTS700213_every_read_errors_and_the_exit_code_is_3(
        cloud: Sandbox, tmp_path: Path) -> None:
    config = cloud.write_config()
    wrong = cloud.federated_token("github", FEATURE)
    token_file(cloud).write_text(wrong, encoding="utf-8")
    run = xtcheck("audit", "--config", str(config), "--format", "console,json", "--output-dir", str(tmp_path))
    assert run.returncode == 3, run.stderr
    findings = json_report(tmp_path)["findings"]
    assert "fail" not in {f["status"] for f in findings}
    assert {f["check_id"] for f in findings if f["status"] == "pass"} == {"EXO-004"}  # discovery needs no sign-in
    errors = [f["message"] for f in findings if f["status"] == "error"]
    assert errors and all("AADSTS700213" in m for m in errors)
    assert any(f"'{FEATURE}'" in m for m in errors), "the message names the subject that did not match"
    texts = outputs(tmp_path, run.stdout, run.stderr)
    assert all(wrong not in text and wrong.split(".")[1][:20] not in text for text in texts), "the token leaked"


def test_an_expired_token_is_AADSTS700024(cloud: Sandbox) -> None:
    result = sign_in(cloud, cloud.federated_token(lifetime=-60))
    assert result["error_codes"] == [700024]
    assert "not within its valid time range" in result["error_description"]


def test_the_right_token_gets_an_app_only_token_with_the_readers_roles(cloud: Sandbox) -> None:
    result = sign_in(cloud, cloud.federated_token())
    claims = jwt.decode(result["access_token"], options={"verify_signature": False})
    assert claims["roles"] == ["Application.Read.All", "Domain.Read.All", "Policy.Read.All", "User.Read.All"]
    assert (claims["appid"], claims["azpacr"], claims["idtyp"]) == (READER, "2", "app")


@pytest.mark.parametrize(("mint", "code"), [
    (lambda cloud: cloud.federated_token("gitlab", MAIN), 700211),  # an issuer the app does not trust
    (lambda cloud: cloud.federated_token("github", MAIN, audience="api://something-else"), 700212),
    (lambda cloud: cloud.federated_token("github", "repo:contoso/other-repo:ref:refs/heads/main"), 700213),
], ids=["issuer", "audience", "subject"])
def test_a_token_that_matches_no_federated_credential_is_refused(
        cloud: Sandbox, mint: Callable[[Sandbox], str], code: int) -> None:
    result = sign_in(cloud, mint(cloud))
    assert result["error_codes"] == [code]
    assert "No matching federated identity record found" in result["error_description"]
    assert "access_token" not in result


def test_a_token_signed_by_someone_else_for_the_trusted_issuer_is_refused(cloud: Sandbox) -> None:
    claims = jwt.decode(cloud.federated_token(), options={"verify_signature": False})
    forged = Signer().sign(claims)  # same iss, sub and aud; not the provider's key
    result = sign_in(cloud, forged)
    assert result["error_codes"] == [700027]


def test_the_identity_provider_publishes_its_discovery_document_and_keys(cloud: Sandbox) -> None:
    issuer = jwt.decode(cloud.federated_token(), options={"verify_signature": False})["iss"]
    assert issuer == f"{cloud.identity_url}/issuers/github"
    with trusting(cloud, timeout=10) as http:
        document = http.get(f"{issuer}/.well-known/openid-configuration").json()
        keys = http.get(document["jwks_uri"]).json()
    assert document["issuer"] == issuer
    key = jwt.PyJWK(keys["keys"][0]).key
    assert jwt.decode(cloud.federated_token(), key, algorithms=["RS256"], audience="api://AzureADTokenExchange")
