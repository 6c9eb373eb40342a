"""Entra ID in the sandbox: discovery, JWKS, tokens and AADSTS errors, through real msal, httpx and TLS."""

from __future__ import annotations

import httpx
import jwt
import pytest

from checks.sandbox.server import Sandbox
from conftest import msal_app, trusting

READER = "4d5e6f70-8192-4a3b-bc4d-5e6f708192a3"
READER_SECRET = "sandbox-reader-secret-8f3k2q"
SYNC_APP = "9b8c7d6e-5f4a-4b3c-8d2e-1f0a9b8c7d6e"
SYNC_SECRET = "Zr5~Kp2.valid-secret-value-2026"
TENANT_A = "7d3f2a10-5c1e-4b8a-9f2d-0a1b2c3d4e5f"
TENANT_B = "c4a1e9b2-8f3d-4e6a-b7c5-1d2e3f4a5b6c"
AAD_ERROR_FIELDS = {"error", "error_description", "error_codes", "timestamp", "trace_id", "correlation_id",
                    "error_uri"}


def discovery(client: httpx.Client, cloud: Sandbox, tenant: str) -> httpx.Response:
    return client.get(f"{cloud.login_url}/{tenant}/v2.0/.well-known/openid-configuration")


@pytest.mark.parametrize("key", [TENANT_B, TENANT_B.upper(), "contoso.com", "contoso.onmicrosoft.com"])
def test_discovery_finds_a_tenant_by_id_or_verified_domain_and_names_its_guid(
        client: httpx.Client, sandbox: Sandbox, key: str) -> None:
    response = discovery(client, sandbox, key)
    assert response.status_code == 200
    document = response.json()
    assert document["issuer"] == f"{sandbox.login_url}/{TENANT_B}/v2.0"
    assert document["token_endpoint"] == f"{sandbox.login_url}/{TENANT_B}/oauth2/v2.0/token"
    assert document["tenant_region_scope"] == "EU"
    assert document["cloud_instance_name"] == "microsoftonline.com"


@pytest.mark.parametrize("key", ["contoso-legacy.com", "nowhere.example", "00000000-0000-0000-0000-000000000001"])
def test_discovery_of_an_unknown_tenant_or_unverified_domain_is_aadsts90002(
        client: httpx.Client, sandbox: Sandbox, key: str) -> None:
    response = discovery(client, sandbox, key)
    assert response.status_code == 400
    body = response.json()
    assert set(body) == AAD_ERROR_FIELDS
    assert body["error"] == "invalid_tenant"
    assert body["error_codes"] == [90002]
    assert body["error_description"].startswith(f"AADSTS90002: Tenant '{key}' not found.")
    assert body["error_uri"].endswith("/error?code=90002")


def test_jwks_verifies_the_tokens_the_sandbox_issues(client: httpx.Client, sandbox: Sandbox) -> None:
    document = discovery(client, sandbox, TENANT_B).json()
    keys = client.get(document["jwks_uri"]).json()["keys"]
    result = msal_app(sandbox, TENANT_B, READER, READER_SECRET).acquire_token_for_client(
        [f"{sandbox.graph_url}/.default"])
    token = result["access_token"]
    kid = jwt.get_unverified_header(token)["kid"]
    key = jwt.PyJWK(next(k for k in keys if k["kid"] == kid))
    claims = jwt.decode(token, key.key, algorithms=["RS256"], audience=sandbox.graph_url,
                        issuer=document["issuer"])
    assert claims["tid"] == TENANT_B
    assert claims["appid"] == claims["azp"] == READER
    assert claims["idtyp"] == "app"
    assert claims["roles"] == ["Application.Read.All", "Domain.Read.All", "Policy.Read.All", "User.Read.All"]
    assert claims["appidacr"] == "1"
    assert claims["nbf"] <= claims["iat"] < claims["exp"]
    assert result["token_type"] == "Bearer" and isinstance(result["expires_in"], int)


def test_token_roles_follow_the_consents_for_the_requested_resource(sandbox: Sandbox) -> None:
    app = msal_app(sandbox, TENANT_B, SYNC_APP, SYNC_SECRET)
    exchange = jwt.decode(app.acquire_token_for_client([f"{sandbox.exchange_resource}/.default"])["access_token"],
                          options={"verify_signature": False})
    graph = jwt.decode(app.acquire_token_for_client([f"{sandbox.graph_url}/.default"])["access_token"],
                       options={"verify_signature": False})
    assert exchange["roles"] == ["full_access_as_app"]
    assert exchange["aud"] == sandbox.exchange_resource
    assert exchange["oid"] == "0a1b2c3d-4e5f-4a6b-9c7d-8e9f0a1b2c3d"  # the sync app's SP in tenant B
    assert "Mail.ReadWrite" in graph["roles"] and "full_access_as_app" not in graph["roles"]


def test_a_token_for_a_resource_without_consents_has_no_roles_claim(sandbox: Sandbox) -> None:
    result = msal_app(sandbox, TENANT_A, READER, READER_SECRET).acquire_token_for_client(
        [f"{sandbox.environment_url()}/.default"])
    claims = jwt.decode(result["access_token"], options={"verify_signature": False})
    assert "roles" not in claims
    assert claims["aud"] == sandbox.environment_url()


def test_public_cloud_resource_uris_are_understood(sandbox: Sandbox) -> None:
    result = msal_app(sandbox, TENANT_B, SYNC_APP, SYNC_SECRET).acquire_token_for_client(
        ["https://outlook.office365.com/.default"])
    assert jwt.decode(result["access_token"], options={"verify_signature": False})["roles"] == [
        "full_access_as_app"]


@pytest.mark.parametrize(("client_id", "secret", "scope", "code", "status_error"), [
    (SYNC_APP, "not-the-secret", "exchange", 7000215, "invalid_client"),
    ("0badc0de-0000-4000-8000-000000000000", SYNC_SECRET, "exchange", 700016, "unauthorized_client"),
    (SYNC_APP, SYNC_SECRET, "https://unknown.example/.default", 500011, "invalid_resource"),
    (SYNC_APP, SYNC_SECRET, "https://outlook.office365.com/EWS.AccessAsUser.All", 1002012, "invalid_scope"),
])
def test_token_errors_carry_the_aadsts_code_and_every_documented_field(
        sandbox: Sandbox, client_id: str, secret: str, scope: str, code: int, status_error: str) -> None:
    scopes = [f"{sandbox.exchange_resource}/.default"] if scope == "exchange" else [scope]
    result = msal_app(sandbox, TENANT_B, client_id, secret).acquire_token_for_client(scopes)
    assert set(result) >= AAD_ERROR_FIELDS
    assert result["error_codes"] == [code]
    assert result["error"] == status_error
    assert result["error_description"].startswith(f"AADSTS{code}: ")
    assert "Trace ID: " in result["error_description"]


def test_a_wrong_secret_is_401_and_a_missing_credential_7000218(client: httpx.Client, sandbox: Sandbox) -> None:
    endpoint = f"{sandbox.login_url}/{TENANT_B}/oauth2/v2.0/token"
    form = {"grant_type": "client_credentials", "client_id": SYNC_APP,
            "scope": f"{sandbox.exchange_resource}/.default"}
    wrong = client.post(endpoint, data={**form, "client_secret": "nope-nope"})
    missing = client.post(endpoint, data=form, headers={"client-request-id": "5b0a3f66-1111-4a4a-9f9f-000000000001"})
    assert wrong.status_code == 401 and wrong.json()["error_codes"] == [7000215]
    assert missing.status_code == 401 and missing.json()["error_codes"] == [7000218]
    assert missing.json()["correlation_id"] == "5b0a3f66-1111-4a4a-9f9f-000000000001"


def test_msal_refuses_an_unknown_tenant_with_the_aadsts90002_body_as_cause(sandbox: Sandbox) -> None:
    with pytest.raises(ValueError, match="Unable to get authority configuration") as caught:
        msal_app(sandbox, "00000000-0000-4000-8000-00000000dead", READER, READER_SECRET)
    assert "AADSTS90002" in str(caught.value.__context__)


@pytest.mark.parametrize("method", ["PUT", "PATCH", "DELETE"])
def test_writes_to_the_login_host_are_refused_and_recorded(start_sandbox: object, method: str) -> None:
    cloud = start_sandbox()  # type: ignore[operator]
    with trusting(cloud) as http:
        response = http.request(method, f"{cloud.login_url}/{TENANT_B}/oauth2/v2.0/token")
        post = http.post(f"{cloud.login_url}/{TENANT_B}/v2.0/.well-known/openid-configuration")
    assert response.status_code == post.status_code == 405
    assert [(w.method, w.service) for w in cloud.log.writes()] == [(method, "login"), ("POST", "login")]
