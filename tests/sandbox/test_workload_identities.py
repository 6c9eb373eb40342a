"""The sync app as a workload identity: secrets on its service principal, apps Microsoft disabled, and Conditional
Access for workload identities, through Graph and the token endpoint with real msal and httpx."""

from __future__ import annotations

import copy
import datetime as dt
from collections.abc import Callable
from typing import Any

import httpx
import jwt
import pytest

from checks.sandbox.scenario import load
from checks.sandbox.server import Sandbox
from conftest import get_token, msal_app, trusting

READER = "4d5e6f70-8192-4a3b-bc4d-5e6f708192a3"
READER_SECRET = "sandbox-reader-secret-8f3k2q"
SYNC_APP = "9b8c7d6e-5f4a-4b3c-8d2e-1f0a9b8c7d6e"
SYNC_SP = "0a1b2c3d-4e5f-4a6b-9c7d-8e9f0a1b2c3d"
SYNC_SECRET = "Zr5~Kp2.valid-secret-value-2026"
SP_SECRET = "Sp9~Qw4.service-principal-secret"
VIOLATION = "DisabledDueToViolationOfServicesAgreement"
StartSandbox = Callable[..., Sandbox]


def healthy() -> dict[str, Any]:
    data: dict[str, Any] = copy.deepcopy(load("healthy", dt.datetime.now(dt.UTC)))
    return data


def item(data: dict[str, Any], key: str, ref: str) -> dict[str, Any]:
    found: dict[str, Any] = next(x for x in data[key] if x["ref"] == ref)
    return found


def graph_get(cloud: Sandbox, path: str) -> dict[str, Any]:
    token = get_token(cloud, "B", READER, READER_SECRET, cloud.graph_url)
    with trusting(cloud, timeout=10) as http:
        response = http.get(f"{cloud.graph_url}/v1.0{path}", headers={"Authorization": f"Bearer {token}"})
    assert response.status_code == 200, response.text
    body: dict[str, Any] = response.json()
    return body


def sp_secret(start: str = "-10d", end: str | None = "+30d") -> dict[str, Any]:
    now = dt.datetime.now(dt.UTC)

    def when(value: str) -> str:
        return (now + dt.timedelta(days=float(value[:-1]))).strftime("%Y-%m-%dT%H:%M:%SZ")

    return {"keyId": "6f5e4d3c-2b1a-4f0e-9d8c-7b6a5f4e3d2c", "displayName": "sp-secret", "secret": SP_SECRET,
            "startDateTime": when(start), "endDateTime": None if end is None else when(end)}


# -- what Graph shows ---------------------------------------------------------------------------------------


def test_a_service_principals_secrets_show_as_hints(start_sandbox: StartSandbox) -> None:
    data = healthy()
    item(data, "servicePrincipals", "sync-app-sp")["passwordCredentials"] = [sp_secret()]
    cloud = start_sandbox(data)
    sp = graph_get(cloud, f"/servicePrincipals/{SYNC_SP}")
    [password] = sp["passwordCredentials"]
    assert password["hint"] == "Sp9" and password["secretText"] is None
    assert password["keyId"] == "6f5e4d3c-2b1a-4f0e-9d8c-7b6a5f4e3d2c" and password["displayName"] == "sp-secret"
    assert set(password) == {"customKeyIdentifier", "displayName", "endDateTime", "hint", "keyId", "secretText",
                             "startDateTime"}
    assert password["endDateTime"].endswith("Z")
    app = graph_get(cloud, f"/applications(appId='{SYNC_APP}')")
    assert [p["hint"] for p in app["passwordCredentials"]] == ["Ab3", "Zr5"]  # the application's own, unchanged


def test_disabled_by_microsoft_status_is_served_on_both_objects(start_sandbox: StartSandbox,
                                                                sandbox: Sandbox) -> None:
    assert graph_get(sandbox, f"/servicePrincipals/{SYNC_SP}")["disabledByMicrosoftStatus"] is None
    data = healthy()
    item(data, "applications", "sync-app")["disabledByMicrosoftStatus"] = VIOLATION
    item(data, "servicePrincipals", "sync-app-sp")["disabledByMicrosoftStatus"] = "NotDisabled"
    cloud = start_sandbox(data)
    assert graph_get(cloud, f"/applications(appId='{SYNC_APP}')")["disabledByMicrosoftStatus"] == VIOLATION
    assert graph_get(cloud, f"/servicePrincipals/{SYNC_SP}")["disabledByMicrosoftStatus"] == "NotDisabled"
    listed = graph_get(cloud, "/servicePrincipals?$filter=disabledByMicrosoftStatus eq 'NotDisabled'&$select=id")
    assert listed["value"] == [{"id": SYNC_SP}]


def token_response(cloud: Sandbox, tenant: str, client_id: str, secret: str,
                   resource: str | None = None) -> httpx.Response:
    """A raw client credentials request (msal's view of errors is checked elsewhere)."""
    with trusting(cloud, timeout=10) as http:
        return http.post(f"{cloud.login_url}/{cloud.tenant(tenant).id}/oauth2/v2.0/token", data={
            "grant_type": "client_credentials", "client_id": client_id, "client_secret": secret,
            "scope": f"{resource or cloud.exchange_resource}/.default"})


# -- secrets on the service principal -----------------------------------------------------------------------


def test_a_secret_on_the_service_principal_signs_the_app_in_to_that_tenant(start_sandbox: StartSandbox) -> None:
    data = healthy()
    item(data, "servicePrincipals", "sync-app-sp")["passwordCredentials"] = [sp_secret()]
    data["servicePrincipals"].append({"ref": "sync-app-sp-a", "tenant": "A", "appId": SYNC_APP,
                                      "id": "1b2c3d4e-5f6a-4b7c-8d9e-0f1a2b3c4d5e"})
    cloud = start_sandbox(data)
    claims = jwt.decode(get_token(cloud, "B", SYNC_APP, SP_SECRET, cloud.exchange_resource),
                        options={"verify_signature": False})
    assert (claims["oid"], claims["roles"], claims["appidacr"]) == (SYNC_SP, ["full_access_as_app"], "1")
    assert token_response(cloud, "B", SYNC_APP, SYNC_SECRET).status_code == 200  # the app's own still works
    elsewhere = token_response(cloud, "A", SYNC_APP, SP_SECRET)  # B's service principal's secret, used in A
    assert elsewhere.status_code == 401 and elsewhere.json()["error_codes"] == [7000215]
    assert token_response(cloud, "A", SYNC_APP, SYNC_SECRET).status_code == 200


def test_an_expired_service_principal_secret_is_7000222(start_sandbox: StartSandbox) -> None:
    data = healthy()
    item(data, "servicePrincipals", "sync-app-sp")["passwordCredentials"] = [sp_secret("-60d", "-1d")]
    response = token_response(start_sandbox(data), "B", SYNC_APP, SP_SECRET)
    assert response.status_code == 401 and response.json()["error_codes"] == [7000222]


# -- disabled by Microsoft ----------------------------------------------------------------------------------


@pytest.mark.parametrize("key, ref", [("applications", "sync-app"), ("servicePrincipals", "sync-app-sp")])
def test_an_app_microsoft_disabled_cannot_sign_in(start_sandbox: StartSandbox, key: str, ref: str) -> None:
    data = healthy()
    item(data, key, ref)["disabledByMicrosoftStatus"] = VIOLATION
    cloud = start_sandbox(data)
    result = msal_app(cloud, cloud.tenant("B").id, SYNC_APP, SYNC_SECRET).acquire_token_for_client(
        [f"{cloud.exchange_resource}/.default"])
    assert result["error"] == "unauthorized_client" and result["error_codes"] == [7000112]
    assert result["error_description"].startswith(
        f"AADSTS7000112: Application '{SYNC_APP}'(Dynamics 365 cross-tenant sync) is disabled.")
    assert token_response(cloud, "B", SYNC_APP, SYNC_SECRET).status_code == 400
    assert token_response(cloud, "B", READER, READER_SECRET).status_code == 200  # other apps are unaffected


def test_not_disabled_is_no_obstacle(start_sandbox: StartSandbox) -> None:
    data = healthy()
    item(data, "applications", "sync-app")["disabledByMicrosoftStatus"] = "NotDisabled"
    item(data, "servicePrincipals", "sync-app-sp")["disabledByMicrosoftStatus"] = "NotDisabled"
    assert token_response(start_sandbox(data), "B", SYNC_APP, SYNC_SECRET).status_code == 200


# -- Conditional Access for workload identities -------------------------------------------------------------


def block(*, include: list[str], exclude: list[str] | None = None, state: str = "enabled",
          apps: list[str] | None = None, skip_apps: list[str] | None = None,
          locations: dict[str, Any] | None = None) -> dict[str, Any]:
    """A policy that blocks workload identities, as an admin makes it in the Entra admin center."""
    conditions: dict[str, Any] = {
        "applications": {"includeApplications": apps or ["All"], "excludeApplications": skip_apps or []},
        "users": {"includeUsers": ["None"]},
        "clientApplications": {"includeServicePrincipals": include, "excludeServicePrincipals": exclude or []}}
    if locations is not None:
        conditions["locations"] = locations
    return {"displayName": f"Block workload identities ({state})", "state": state, "conditions": conditions,
            "grantControls": {"operator": "OR", "builtInControls": ["block"]}}


def single_tenant_with(*policies: dict[str, Any]) -> dict[str, Any]:
    """Healthy, with the sync app single-tenant (registered in B, as Microsoft's guide has it) and `policies` in B."""
    data = healthy()
    item(data, "applications", "sync-app")["signInAudience"] = "AzureADMyOrg"
    next(t for t in data["tenants"] if t["ref"] == "B")["conditionalAccessPolicies"].extend(policies)
    return data


@pytest.mark.parametrize("include", [["sp:sync-app-sp"], ["ServicePrincipalsInMyTenant"], [SYNC_SP.upper()]])
def test_an_enabled_block_policy_refuses_a_single_tenant_apps_tokens_with_53003(
        start_sandbox: StartSandbox, include: list[str]) -> None:
    cloud = start_sandbox(single_tenant_with(block(include=include)))
    result = msal_app(cloud, cloud.tenant("B").id, SYNC_APP, SYNC_SECRET).acquire_token_for_client(
        [f"{cloud.graph_url}/.default"])
    assert result["error"] == "interaction_required" and result["error_codes"] == [53003]
    assert result["error_description"].startswith(
        "AADSTS53003: Access has been blocked by Conditional Access policies. The access policy does not allow "
        "token issuance. Trace ID: ")
    assert result["suberror"] == "message_only"
    response = token_response(cloud, "B", SYNC_APP, SYNC_SECRET)
    assert response.status_code == 400 and response.json()["error_codes"] == [53003]
    assert token_response(cloud, "B", SYNC_APP, "wrong-secret-value").json()["error_codes"] == [7000215]


@pytest.mark.parametrize("policy", [
    block(include=["sp:sync-app-sp"], state="enabledForReportingButNotEnforced"),
    block(include=["sp:sync-app-sp"], state="disabled"),
    block(include=["ServicePrincipalsInMyTenant"], exclude=["sp:sync-app-sp"]),
    block(include=["sp:auditor"]),
    block(include=["sp:sync-app-sp"], apps=["00000003-0000-0000-c000-000000000000"]),
    block(include=["sp:sync-app-sp"], skip_apps=["00000002-0000-0ff1-ce00-000000000000"]),
    block(include=["sp:sync-app-sp"], locations={"includeLocations": ["All"], "excludeLocations": ["AllTrusted"]}),
    block(include=["sp:sync-app-sp"], locations={"includeLocations": ["2b7e4f0a-1c3d-4e5f-8a9b-0c1d2e3f4a5b"]}),
], ids=["report-only", "disabled", "excluded", "another-sp", "graph-only", "exchange-excluded",
        "trusted-locations-excluded", "named-location"])
def test_policies_that_do_not_apply_let_the_exchange_token_through(start_sandbox: StartSandbox,
                                                                   policy: dict[str, Any]) -> None:
    cloud = start_sandbox(single_tenant_with(policy))
    assert token_response(cloud, "B", SYNC_APP, SYNC_SECRET).status_code == 200


def test_a_policy_for_one_resource_blocks_that_resource_only(start_sandbox: StartSandbox) -> None:
    graph = "00000003-0000-0000-c000-000000000000"
    cloud = start_sandbox(single_tenant_with(block(include=["sp:sync-app-sp"], apps=[graph])))
    assert token_response(cloud, "B", SYNC_APP, SYNC_SECRET).status_code == 200
    blocked = token_response(cloud, "B", SYNC_APP, SYNC_SECRET, cloud.graph_url)
    assert blocked.status_code == 400 and blocked.json()["error_codes"] == [53003]


def test_the_healthy_mfa_policy_blocks_no_workload_identity(sandbox: Sandbox) -> None:
    assert token_response(sandbox, "B", SYNC_APP, SYNC_SECRET).status_code == 200
    assert token_response(sandbox, "B", SYNC_APP, SYNC_SECRET, sandbox.graph_url).status_code == 200


def test_policies_never_block_an_app_registered_in_another_tenant(start_sandbox: StartSandbox) -> None:
    """The reader is multitenant and registered in A: B's policies cannot touch it, even naming it; A's can."""
    data = single_tenant_with(block(include=["ServicePrincipalsInMyTenant"]), block(include=["sp:auditor"]))
    cloud = start_sandbox(data)
    assert token_response(cloud, "B", READER, READER_SECRET, cloud.graph_url).status_code == 200
    assert token_response(cloud, "B", SYNC_APP, SYNC_SECRET).json()["error_codes"] == [53003]
    next(t for t in data["tenants"] if t["ref"] == "A")["conditionalAccessPolicies"] = [
        block(include=["ServicePrincipalsInMyTenant"])]
    at_home = start_sandbox(data)
    refused = token_response(at_home, "A", READER, READER_SECRET, at_home.graph_url)
    assert refused.status_code == 400 and refused.json()["error_codes"] == [53003]
    assert token_response(at_home, "B", READER, READER_SECRET, at_home.graph_url).status_code == 200
