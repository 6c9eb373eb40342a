"""Exchange Online in the sandbox: the admin API's InvokeCommand (Get-OrganizationConfig only, Exchange.ManageAsApp,
tenant-bound tokens), its refusals, and the config the sandbox writes for EWS-001 (export file, admin API, app secret);
through real msal, httpx and TLS."""

from __future__ import annotations

import email.message
import json
from collections.abc import Callable
from pathlib import Path
from typing import Any

import httpx
import jsonschema
import jwt
import pytest
import yaml

import schemas
from checks.sandbox import firstparty
from checks.sandbox.exchange import Exchange, organization_config
from checks.sandbox.httpd import Request
from checks.sandbox.scenario import ScenarioError, load_raw
from checks.sandbox.server import Sandbox
from conftest import get_token, trusting

StartSandbox = Callable[..., Sandbox]

APP = "9b8c7d6e-5f4a-4b3c-8d2e-1f0a9b8c7d6e"
READER = "4d5e6f70-8192-4a3b-bc4d-5e6f708192a3"
READER_SECRET = "sandbox-reader-secret-8f3k2q"
A = "7d3f2a10-5c1e-4b8a-9f2d-0a1b2c3d4e5f"
B = "c4a1e9b2-8f3d-4e6a-b7c5-1d2e3f4a5b6c"
MANAGE = "Exchange.ManageAsApp"
GET_ORG = {"CmdletInput": {"CmdletName": "Get-OrganizationConfig",
                           "Parameters": {"RetrieveEwsOperationAccessPolicy": True}}}
EWS_KEYS = {"EwsEnabled", "EwsAllowedAppIDs", "EwsApplicationAccessPolicy", "EwsAllowList", "EwsBlockList"}


def invoke(cloud: Sandbox, token: str | None, tenant: str = B, body: Any = GET_ORG, *,
           method: str = "POST", version: str = "beta") -> httpx.Response:
    headers = {"Authorization": f"Bearer {token}"} if token is not None else {}
    with trusting(cloud, timeout=10) as http:
        return http.request(method, f"{cloud.exchange_resource}/adminapi/{version}/{tenant}/InvokeCommand",
                            headers=headers, content=json.dumps(body).encode() if body is not None else None)


def manage_token(cloud: Sandbox, tenant_ref: str = "B", *, roles: list[str] | None = None,
                 audience: str | None = None, lifetime: int = 3599) -> str:
    return cloud.issue_token(tenant_ref, READER, audience or cloud.exchange_resource,
                             roles=[MANAGE] if roles is None else roles, lifetime=lifetime)


def error_of(response: httpx.Response) -> dict[str, Any]:
    assert response.headers["content-type"].startswith("application/json")
    body: dict[str, Any] = response.json()
    assert set(body) == {"error"} and set(body["error"]) == {"code", "message"}
    return body["error"]


# -- InvokeCommand --------------------------------------------------------------------------------------------

def test_get_organization_config_returns_the_tenants_ews_settings(sandbox: Sandbox) -> None:
    response = invoke(sandbox, manage_token(sandbox))
    assert response.status_code == 200
    body = response.json()
    assert body["@odata.context"] == (f"{sandbox.exchange_resource}/adminapi/beta/{B}/$metadata"
                                      "#Collection(Exchange.GenericHashTable)")
    (config,) = body["value"]
    assert config["EwsEnabled"] is True
    assert config["EwsAllowedAppIDs"] == [APP]
    assert config["EwsApplicationAccessPolicy"] is None and config["EwsAllowList"] is None
    assert config["Name"] == config["Identity"] == "contoso.onmicrosoft.com"
    assert config["DisplayName"] == "Contoso Ltd" and config["IsDehydrated"] is False
    assert config == organization_config(sandbox.tenant("B"))


@pytest.mark.parametrize("key", ["contoso.com", "contoso.onmicrosoft.com", B.upper()])
def test_the_tenant_in_the_path_may_be_a_verified_domain(sandbox: Sandbox, key: str) -> None:
    response = invoke(sandbox, manage_token(sandbox), tenant=key)
    assert response.status_code == 200
    assert response.json()["value"][0]["Name"] == "contoso.onmicrosoft.com"


def test_each_tenant_answers_with_its_own_config_and_an_untouched_one_has_the_defaults(sandbox: Sandbox) -> None:
    response = invoke(sandbox, manage_token(sandbox, "A"), tenant=A)
    assert response.status_code == 200
    (config,) = response.json()["value"]
    assert config["Name"] == "fabrikam.onmicrosoft.com"
    assert {key: config[key] for key in EWS_KEYS} == dict.fromkeys(EWS_KEYS)


def test_the_cmdlet_name_is_not_case_sensitive_and_v2_answers_too(sandbox: Sandbox) -> None:
    body = {"CmdletInput": {"CmdletName": "get-organizationconfig"}}
    response = invoke(sandbox, manage_token(sandbox), body=body, version="v2.0")
    assert response.status_code == 200
    assert "/adminapi/v2.0/" in response.json()["@odata.context"]


def test_without_exchange_manage_as_app_the_answer_is_403(sandbox: Sandbox) -> None:
    for roles in ([], ["full_access_as_app"]):
        response = invoke(sandbox, manage_token(sandbox, roles=roles))
        assert response.status_code == 403
        error = error_of(response)
        assert error["code"] == "Forbidden" and MANAGE in error["message"]


@pytest.mark.parametrize("case", ["graph audience", "expired", "no token", "not a jwt"])
def test_a_token_that_does_not_validate_is_401_with_a_bearer_challenge(sandbox: Sandbox, case: str) -> None:
    token = {
        "graph audience": lambda: manage_token(sandbox, audience=sandbox.graph_url),
        "expired": lambda: manage_token(sandbox, lifetime=-60),
        "no token": lambda: None,
        "not a jwt": lambda: "not-a-token",
    }[case]()
    response = invoke(sandbox, token)
    assert response.status_code == 401
    assert response.headers["www-authenticate"].startswith("Bearer ")
    assert firstparty.EXCHANGE.app_id in response.headers["www-authenticate"]
    assert error_of(response)["code"] == "Unauthorized"


def test_the_public_exchange_resource_is_an_accepted_audience(sandbox: Sandbox) -> None:
    response = invoke(sandbox, manage_token(sandbox, audience="https://outlook.office365.com"))
    assert response.status_code == 200


@pytest.mark.parametrize("tenant", [B, "contoso.com", "nowhere.example"])
def test_another_tenants_token_is_401(sandbox: Sandbox, tenant: str) -> None:
    response = invoke(sandbox, manage_token(sandbox, "A"), tenant=tenant)
    assert response.status_code == 401
    assert response.headers["www-authenticate"].startswith("Bearer ")
    assert A in error_of(response)["message"]


@pytest.mark.parametrize("cmdlet", ["Get-Mailbox", "Get-ApplicationAccessPolicy", "Get-Foo; Set-OrganizationConfig"])
def test_an_unsupported_get_cmdlet_is_400_naming_it(sandbox: Sandbox, cmdlet: str) -> None:
    response = invoke(sandbox, manage_token(sandbox), body={"CmdletInput": {"CmdletName": cmdlet, "Parameters": {}}})
    assert response.status_code == 400
    error = error_of(response)
    assert error["code"] == "BadRequest" and f"'{cmdlet}'" in error["message"]


def test_other_paths_are_404_and_a_get_of_invoke_command_is_405(sandbox: Sandbox) -> None:
    with trusting(sandbox, timeout=10) as http:
        missing = http.get(f"{sandbox.exchange_resource}/EWS/Exchange.asmx")
    assert missing.status_code == 404 and error_of(missing)["code"] == "NotFound"
    response = invoke(sandbox, manage_token(sandbox), method="GET", body=None)
    assert response.status_code == 405 and error_of(response)["code"] == "MethodNotAllowed"


# -- writes are refused and recorded --------------------------------------------------------------------------

def test_set_organization_config_is_refused_with_405_and_recorded(start_sandbox: StartSandbox) -> None:
    cloud = start_sandbox()
    body = {"CmdletInput": {"CmdletName": "Set-OrganizationConfig",
                            "Parameters": {"EwsEnabled": False}}}
    response = invoke(cloud, manage_token(cloud), body=body)
    assert response.status_code == 405
    assert error_of(response)["code"] == "MethodNotAllowed"
    (write,) = cloud.log.writes()
    assert (write.service, write.method, write.status) == ("exchange", "POST", 405)
    assert write.path == f"/adminapi/beta/{B}/InvokeCommand"
    still = invoke(cloud, manage_token(cloud)).json()["value"][0]
    assert still["EwsEnabled"] is True  # nothing changed
    assert len(cloud.log.writes()) == 1


@pytest.mark.parametrize("method", ["PUT", "PATCH", "DELETE"])
def test_every_other_method_is_a_write(start_sandbox: StartSandbox, method: str) -> None:
    cloud = start_sandbox()
    response = invoke(cloud, manage_token(cloud), method=method)
    assert response.status_code == 405
    assert [(w.service, w.method) for w in cloud.log.writes()] == [("exchange", method)]


def _request(method: str, path: str, body: bytes = b"") -> Request:
    return Request(method, path, email.message.Message(), body, "https://127.0.0.1:1")


@pytest.mark.parametrize(("method", "path", "body", "read"), [
    ("GET", "/anything", b"", True),
    ("HEAD", f"/adminapi/beta/{B}/InvokeCommand", b"", True),
    ("POST", f"/adminapi/beta/{B}/InvokeCommand", json.dumps(GET_ORG).encode(), True),
    ("POST", "/adminapi/beta/contoso.com/InvokeCommand", b'{"CmdletInput":{"CmdletName":"GET-MAILBOX"}}', True),
    ("POST", f"/adminapi/beta/{B}/InvokeCommand", b'{"CmdletInput":{"CmdletName":"Set-OrganizationConfig"}}',
     False),
    ("POST", f"/adminapi/beta/{B}/InvokeCommand", b'{"CmdletInput":{"CmdletName":"New-ApplicationAccessPolicy"}}',
     False),
    ("POST", f"/adminapi/beta/{B}/InvokeCommand", b"not json", False),
    ("POST", f"/adminapi/beta/{B}/InvokeCommand", b'{"CmdletInput":{"CmdletName":["Get-Mailbox"]}}', False),
    ("POST", f"/adminapi/beta/{B}/Other", json.dumps(GET_ORG).encode(), False),
    ("POST", "/EWS/Exchange.asmx", b"<soap/>", False),
    ("PATCH", f"/adminapi/beta/{B}/InvokeCommand", json.dumps(GET_ORG).encode(), False),
])
def test_only_get_cmdlets_are_reads(sandbox: Sandbox, method: str, path: str, body: bytes, read: bool) -> None:
    service = Exchange(sandbox.directory, sandbox.issuer)
    assert service.is_read(_request(method, path, body)) is read


def test_injected_faults_answer_in_exchanges_error_shape(start_sandbox: StartSandbox) -> None:
    cloud = start_sandbox()
    cloud.add_fault("throttle", service="exchange", path="InvokeCommand", retry_after=2)
    cloud.add_fault("status", service="exchange", path="InvokeCommand", status=503)
    throttled = invoke(cloud, manage_token(cloud))
    assert throttled.status_code == 429 and throttled.headers["retry-after"] == "2"
    assert error_of(throttled)["code"] == "TooManyRequests"
    unavailable = invoke(cloud, manage_token(cloud))
    assert unavailable.status_code == 503 and error_of(unavailable)["code"] == "ServiceUnavailable"
    assert invoke(cloud, manage_token(cloud)).status_code == 200


# -- real tokens --------------------------------------------------------------------------------------------

def test_the_readers_exchange_token_carries_manage_as_app_only_where_granted(start_sandbox: StartSandbox,
                                                                              sandbox: Sandbox) -> None:
    cloud = start_sandbox("ews-admin-api")
    token = get_token(cloud, "B", READER, READER_SECRET, cloud.exchange_resource)
    claims = jwt.decode(token, options={"verify_signature": False})
    assert claims["roles"] == [MANAGE] and claims["tid"] == B and claims["appid"] == READER
    graph = jwt.decode(get_token(cloud, "B", READER, READER_SECRET, cloud.graph_url),
                       options={"verify_signature": False})
    assert set(graph["roles"]) == {"Application.Read.All", "Domain.Read.All", "Policy.Read.All",
                                   "User.Read.All"}  # the Graph grants are untouched
    response = invoke(cloud, token)
    assert response.status_code == 200 and response.json()["value"][0]["EwsAllowedAppIDs"] == [APP]
    in_a = jwt.decode(get_token(cloud, "A", READER, READER_SECRET, cloud.exchange_resource),
                      options={"verify_signature": False})
    assert "roles" not in in_a  # granted in Contoso only
    healthy = get_token(sandbox, "B", READER, READER_SECRET, sandbox.exchange_resource)
    assert "roles" not in jwt.decode(healthy, options={"verify_signature": False})
    assert invoke(sandbox, healthy).status_code == 403


def test_the_sync_apps_own_exchange_token_cannot_run_cmdlets(sandbox: Sandbox) -> None:
    token = get_token(sandbox, "B", APP, "Zr5~Kp2.valid-secret-value-2026", sandbox.exchange_resource)
    assert invoke(sandbox, token).status_code == 403  # full_access_as_app is EWS, not Exchange management


def test_a_reader_grant_names_its_resource_by_prefix(tmp_path: Path) -> None:
    path = tmp_path / "bad-grant.json"
    path.write_text(json.dumps({"name": "bad-grant", "summary": "x", "extends": "healthy", "patch": [
        {"op": "add", "path": "/readers/[ref=auditor]/grants/B/-", "value": "sharepoint:Sites.Read.All"}]}))
    with pytest.raises(ScenarioError, match="grants/B/4"):
        load_raw(str(path))


# -- the config the sandbox writes ----------------------------------------------------------------------------

def written(cloud: Sandbox) -> dict[str, Any]:
    config: dict[str, Any] = yaml.safe_load(cloud.write_config().read_text(encoding="utf-8"))
    jsonschema.Draft202012Validator(schemas.load("config")).validate(config)
    return config


def secret_file(config: dict[str, Any]) -> str:
    reference: str = config["app"]["secret"]
    assert reference.startswith("file:")
    return Path(reference.removeprefix("file:")).read_text(encoding="utf-8")


def test_an_export_is_written_as_convert_to_json_would_and_named_in_the_config(sandbox: Sandbox) -> None:
    config = written(sandbox)
    assert "admin_api" not in config["exchange"]
    path = Path(config["exchange"]["org_config_export"])
    assert path.is_absolute() and path.is_file() and path.parent == sandbox.workdir.resolve()
    exported = json.loads(path.read_text(encoding="utf-8"))
    assert isinstance(exported, dict)
    assert exported["EwsEnabled"] is True and exported["EwsAllowedAppIDs"] == [APP]
    assert {"Name", "Identity", "DisplayName", "IsDehydrated", *EWS_KEYS} <= set(exported)
    assert all(key[0].isupper() for key in exported)
    assert exported == organization_config(sandbox.tenant("B"))


def test_admin_api_is_switched_on_in_the_config_without_an_export(start_sandbox: StartSandbox) -> None:
    cloud = start_sandbox("ews-admin-api")
    config = written(cloud)
    assert config["exchange"]["admin_api"] is True
    assert "org_config_export" not in config["exchange"]
    assert not (cloud.workdir / "org-config.json").exists()


def test_without_org_config_the_config_has_neither(start_sandbox: StartSandbox, tmp_path: Path) -> None:
    path = tmp_path / "no-org-config.json"
    path.write_text(json.dumps({"name": "no-org-config", "summary": "x", "extends": "healthy", "patch": [
        {"op": "remove", "path": "/audit/orgConfig"}]}))
    config = written(start_sandbox(str(path)))
    assert set(config["exchange"]) == {"tenant_id"}


def test_the_app_secret_file_holds_the_newest_secret_or_the_audits_app_secret(start_sandbox: StartSandbox,
                                                                               sandbox: Sandbox) -> None:
    assert secret_file(written(sandbox)) == "Zr5~Kp2.valid-secret-value-2026"
    cloud = start_sandbox("app-secret-wrong")
    given = secret_file(written(cloud))
    assert given == cloud.scenario["audit"]["appSecret"] == "2e3d4c5b-6a7f-4e8d-9cab-1a2b3c4d5e6f"
    assert given not in {s.value for s in cloud.directory.secrets[APP]}


def test_an_export_for_a_mistyped_exchange_tenant_still_comes_from_contoso(start_sandbox: StartSandbox) -> None:
    cloud = start_sandbox("unknown-exchange-tenant")
    config = written(cloud)
    assert config["exchange"]["tenant_id"] == cloud.scenario["audit"]["exchangeTenant"]
    exported = json.loads(Path(config["exchange"]["org_config_export"]).read_text(encoding="utf-8"))
    assert exported["Name"] == "contoso.onmicrosoft.com"
